/*
 * BLAKE3 tests: official test vectors (input byte i = i % 251) and
 * comparisons with the `b3sum` command for many lengths, update split
 * patterns, SIMD back ends, extended output lengths, keyed and derive_key
 * modes. Tests that need b3sum skip (with a message) when it is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <roam/blake3.h>

#define XOF_LEN 131 /* the official vectors list 131 output bytes */

static const char OFFICIAL_KEY[] = "whats the Elvish word for friend";
static const char OFFICIAL_CONTEXT[] = "BLAKE3 2019-12-27 16:29:52 test vectors context";

enum mode { V_HASH, V_KEYED, V_DERIVE };

/* A subset of BLAKE3-team/BLAKE3 test_vectors/test_vectors.json. */
static const struct {
  size_t len;
  enum mode mode;
  const char *hex;
} OFFICIAL[] = {
    {0, V_HASH,
     "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
     "e00f03e7b69af26b7faaf09fcd333050338ddfe085b8cc869ca98b206c08243a"
     "26f5487789e8f660afe6c99ef9e0c52b92e7393024a80459cf91f476f9ffdbda"
     "7001c22e159b402631f277ca96f2defdf1078282314e763699a31c5363165421"
     "cce14d"},
    {0, V_KEYED,
     "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26"
     "b18171a2f22a4b94822c701f107153dba24918c4bae4d2945c20ece13387627d"
     "3b73cbf97b797d5e59948c7ef788f54372df45e45e4293c7dc18c1d41144a975"
     "8be58960856be1eabbe22c2653190de560ca3b2ac4aa692a9210694254c371e8"
     "51bc8f"},
    {0, V_DERIVE,
     "2cc39783c223154fea8dfb7c1b1660f2ac2dcbd1c1de8277b0b0dd39b7e50d7d"
     "905630c8be290dfcf3e6842f13bddd573c098c3f17361f1f206b8cad9d088aa4"
     "a3f746752c6b0ce6a83b0da81d59649257cdf8eb3e9f7d4998e41021fac119de"
     "efb896224ac99f860011f73609e6e0e4540f93b273e56547dfd3aa1a035ba668"
     "9d89a0"},
    {1, V_HASH,
     "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"
     "c3a6cb8bf623e20cdb535f8d1a5ffb86342d9c0b64aca3bce1d31f60adfa137b"
     "358ad4d79f97b47c3d5e79f179df87a3b9776ef8325f8329886ba42f07fb138b"
     "b502f4081cbcec3195c5871e6c23e2cc97d3c69a613eba131e5f1351f3f1da78"
     "6545e5"},
    {1023, V_HASH,
     "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"
     "a182d27a591b05592b15607500e1e8dd56bc6c7fc063715b7a1d737df5bad333"
     "9c56778957d870eb9717b57ea3d9fb68d1b55127bba6a906a4a24bbd5acb2d12"
     "3a37b28f9e9a81bbaae360d58f85e5fc9d75f7c370a0cc09b6522d9c8d822f2f"
     "28f485"},
    {1024, V_HASH,
     "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"
     "1cf8107265ecdaf8505b95d8fcec83a98a6a96ea5109d2c179c47a387ffbb404"
     "756f6eeae7883b446b70ebb144527c2075ab8ab204c0086bb22b7c93d465efc5"
     "7f8d917f0b385c6df265e77003b85102967486ed57db5c5ca170ba441427ed9a"
     "fa684e"},
    {1025, V_HASH,
     "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"
     "f4c4a22b4b399155358a994e52bf255de60035742ec71bd08ac275a1b51cc6bf"
     "e332b0ef84b409108cda080e6269ed4b3e2c3f7d722aa4cdc98d16deb554e562"
     "7be8f955c98e1d5f9565a9194cad0c4285f93700062d9595adb992ae68ff1280"
     "0ab67a"},
    {1025, V_KEYED,
     "357dc55de0c7e382c900fd6e320acc04146be01db6a8ce7210b7189bd664ea69"
     "362396b77fdc0d2634a552970843722066c3c15902ae5097e00ff53f1e116f1c"
     "d5352720113a837ab2452cafbde4d54085d9cf5d21ca613071551b25d52e69d6"
     "c81123872b6f19cd3bc1333edf0c52b94de23ba772cf82636cff4542540a7738"
     "d5b930"},
    {1025, V_DERIVE,
     "effaa245f065fbf82ac186839a249707c3bddf6d3fdda22d1b95a3c970379bcb"
     "5d31013a167509e9066273ab6e2123bc835b408b067d88f96addb550d96b6852"
     "dad38e320b9d940f86db74d398c770f462118b35d2724efa13da97194491d96d"
     "d37c3c09cbef665953f2ee85ec83d88b88d11547a6f911c8217cca46defa2751"
     "e7f3ad"},
    {2048, V_HASH,
     "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"
     "9a60bf80001410ec9eea6698cd537939fad4749edd484cb541aced55cd9bf547"
     "64d063f23f6f1e32e12958ba5cfeb1bf618ad094266d4fc3c968c2088f677454"
     "c288c67ba0dba337b9d91c7e1ba586dc9a5bc2d5e90c14f53a8863ac75655461"
     "cea8f9"},
    {2049, V_HASH,
     "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"
     "96de31d71d74103403822a2e0bc1eb193e7aecc9643a76b7bbc0c9f9c52e8783"
     "aae98764ca468962b5c2ec92f0c74eb5448d519713e09413719431c802f948dd"
     "5d90425a4ecdadece9eb178d80f26efccae630734dff63340285adec2aed3b51"
     "073ad3"},
    {3072, V_HASH,
     "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"
     "9a3f6b0b978d6608335c09dc94ccf682f9951cdfc501bfe47b9c9189a6fc7b40"
     "4d120258506341a6d802857322fbd20d3e5dae05b95c88793fa83db1cb08e7d8"
     "008d1599b6209d78336e24839724c191b2a52a80448306e0daa84a3fdb566661"
     "a37e11"},
    {3073, V_HASH,
     "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"
     "9a27ae3b79d68d89da9bf25bc27139ae65a324918a5f9b7828181e52cf373c84"
     "f35b639b7fccbb985b6f2fa56aea0c18f531203497b8bbd3a07ceb5926f1cab7"
     "4d14bd66486d9a91eba99059a98bd1cd25876b2af5a76c3e9eed554ed72ea952"
     "b603bf"},
    {4096, V_HASH,
     "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969"
     "0289e9409ddb1b99768eafe1623da896faf7e1114bebeadc1be30829b6f8af70"
     "7d85c298f4f0ff4d9438aef948335612ae921e76d411c3a9111df62d27eaf871"
     "959ae0062b5492a0feb98ef3ed4af277f5395172dbe5c311918ea0074ce00364"
     "54f620"},
    {4097, V_HASH,
     "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995"
     "05f91b0b5600a11251652eacfa9497b31cd3c409ce2e45cfe6c0a016967316c4"
     "26bd26f619eab5d70af9a418b845c608840390f361630bd497b1ab4401931635"
     "7c61dbe091ce72fc16dc340ac3d6e009e050b3adac4b5b2c92e722cffdc46501"
     "531956"},
    {5120, V_HASH,
     "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833"
     "acc61c8fdc114a2010ce8038c853e121e1544985133fccdd0a2d507e8e615e61"
     "1e9a0ba4f47915f49e53d721816a9198e8b30f12d20ec3689989175f1bf7a300"
     "eee0d9321fad8da232ece6efb8e9fd81b42ad161f6b9550a069e66b11b40487a"
     "5f5059"},
    {6145, V_HASH,
     "f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f"
     "18a2cfdd73c6e39dd75ce7c1c6e3ef238fd54465f053b25d21044ccb2093beb0"
     "15015532b108313b5829c3621ce324b8e14229091b7c93f32db2e4e63126a377"
     "d2a63a3597997d4f1cba59309cb4af240ba70cebff9a23d5e3ff0cdae2cfd54e"
     "070022"},
    {7169, V_HASH,
     "a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817"
     "98a8b20534be1ca9eb2ae2df3fae2ea60e48c6fb0b850b1385b5de0fe460dbe9"
     "d9f9b0d8db4435da75c601156df9d047f4ede008732eb17adc05d96180f8a735"
     "48522840779e6062d643b79478a6e8dbce68927f36ebf676ffa7d72d5f68f050"
     "b119c8"},
    {8193, V_HASH,
     "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"
     "b2282aa69be089359ea1154b9a9286c4a56af4de975a9aa4a5c497654914d279"
     "bea60bb6d2cf7225a2fa0ff5ef56bbe4b149f3ed15860f78b4e2ad04e158e375"
     "c1e0c0b551cd7dfc82f1b155c11b6b3ed51ec9edb30d133653bb5709d1dbd55f"
     "4e1ff6"},
    {16384, V_HASH,
     "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4"
     "9d764c270176e53e97bdffa58d549073f2c660be0e81293767ed4e4929f9ad34"
     "bbb39a529334c57c4a381ffd2a6d4bfdbf1482651b172aa883cc13408fa67758"
     "a3e47503f93f87720a3177325f7823251b85275f64636a8f1d599c2e49722f42"
     "e93893"},
    {31744, V_HASH,
     "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"
     "860cc51f2b0c28a7b77304bd55fe73af663c02d3f52ea053ba43431ca5bab7bf"
     "ea2f5e9d7121770d88f70ae9649ea713087d1914f7f312147e247f87eb2d4ffe"
     "f0ac978bf7b6579d57d533355aa20b8b77b13fd09748728a5cc327a8ec470f40"
     "13226f"},
    {31744, V_KEYED,
     "efa53b389ab67c593dba624d898d0f7353ab99e4ac9d42302ee64cbf9939a419"
     "3a7258db2d9cd32a7a3ecfce46144114b15c2fcb68a618a976bd74515d47be08"
     "b628be420b5e830fade7c080e351a076fbc38641ad80c736c8a18fe3c66ce12f"
     "95c61c2462a9770d60d0f77115bbcd3782b593016a4e728d4c06cee4505cb0c0"
     "8a42ec"},
    {102400, V_HASH,
     "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"
     "e01c59dab908c04c3342b816941a26d69c2605ebee5ec5291cc55e15b76146e6"
     "745f0601156c3596cb75065a9c57f35585a52e1ac70f69131c23d611ce11ee4a"
     "b1ec2c009012d236648e77be9295dd0426f29b764d65de58eb7d01dd42248204"
     "f45f8e"},
    {102400, V_DERIVE,
     "4652cff7a3f385a6103b5c260fc1593e13c778dbe608efb092fe7ee69df6e9c6"
     "d83a3e041bc3a48df2879f4a0a3ed40e7c961c73eff740f3117a0504c2dff478"
     "6d44fb17f1549eb0ba585e40ec29bf7732f0b7e286ff8acddc4cb1e23b87ff5d"
     "824a986458dcc6a04ac83969b80637562953df51ed1a7e90a7926924d2763778"
     "be8560"},
};

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static void fill_pattern(uint8_t *p, size_t len) {
  for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(i % 251);
}

static uint64_t lcg_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return lcg_state >> 17;
}

static void to_hex(const uint8_t *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = 0;
}

static void init_mode(roam_blake3_hasher *h, enum mode m) {
  switch (m) {
  case V_HASH: roam_blake3_hasher_init(h); break;
  case V_KEYED: roam_blake3_hasher_init_keyed(h, (const uint8_t *)OFFICIAL_KEY); break;
  case V_DERIVE: roam_blake3_hasher_init_derive_key(h, OFFICIAL_CONTEXT); break;
  }
}

/* Update split patterns: 0 = one call, >0 = fixed piece size,
 * -1 = pseudo-random pieces (0..2100 bytes, including empty updates). */
static const long SPLITS[] = {0, 1, 7, 63, 64, 65, 1000, 1023, 1024, 1025, 4097, 65537, -1};
#define NSPLITS (sizeof SPLITS / sizeof SPLITS[0])

static void hash_split(enum mode m, roam_blake3_backend be, long split, const uint8_t *data,
                       size_t len, uint8_t *out, size_t out_len) {
  roam_blake3_hasher h;
  init_mode(&h, m);
  roam_blake3_hasher_set_backend(&h, be);
  if (split == 0) {
    roam_blake3_hasher_update(&h, data, len);
  } else {
    size_t off = 0;
    while (off < len) {
      size_t piece = split > 0 ? (size_t)split : (size_t)(rnd() % 2101);
      if (piece > len - off) piece = len - off;
      roam_blake3_hasher_update(&h, data + off, piece);
      off += piece;
    }
  }
  roam_blake3_hasher_finalize(&h, out, out_len);
}

/* Check every back end and split pattern against the expected hex. */
static void check_all_ways(enum mode m, const uint8_t *data, size_t len, const char *want_hex,
                           size_t out_len) {
  uint8_t *out = malloc(out_len);
  char *hex = malloc(2 * out_len + 1);
  assert_non_null(out);
  assert_non_null(hex);
  for (int be = ROAM_BLAKE3_PORTABLE; be <= ROAM_BLAKE3_AVX512; be++) {
    for (size_t s = 0; s < NSPLITS; s++) {
      /* Keep sanitizer builds fast: big inputs get fewer split patterns
       * (byte-at-a-time only with the best back end). */
      const long sp = SPLITS[s];
      if (len > 20000 && sp != 0 && sp != 1 && sp != 1023 && sp != 4097 && sp != -1) continue;
      if (len > 20000 && sp == 1 && (be != ROAM_BLAKE3_AVX512 || len > 150000)) continue;
      if (len > 500000 && sp != 0 && sp != -1) continue;
      hash_split(m, (roam_blake3_backend)be, SPLITS[s], data, len, out, out_len);
      to_hex(out, out_len, hex);
      if (strcmp(hex, want_hex) != 0) {
        print_error("len=%zu mode=%d backend=%s split=%ld\n  got  %s\n  want %s\n", len, (int)m,
                    roam_blake3_backend_name((roam_blake3_backend)be), SPLITS[s], hex, want_hex);
        fail();
      }
    }
  }
  free(hex);
  free(out);
}

static int have_b3sum(void) {
  static int cached = -1;
  if (cached < 0) cached = system("command -v b3sum >/dev/null 2>&1") == 0;
  return cached;
}

#define REQUIRE_B3SUM()                                                              \
  do {                                                                               \
    if (!have_b3sum()) {                                                             \
      print_message("SKIPPED: the b3sum command is not installed (Debian package " \
                    "b3sum)\n");                                                     \
      skip();                                                                        \
    }                                                                                \
  } while (0)

/* Writes data to a new temporary file; returns its path (static buffer). */
static const char *write_temp(const char *tag, const void *data, size_t len) {
  static char path[4][64];
  static int slot;
  char *p = path[slot++ & 3];
  snprintf(p, 64, "/tmp/roam-b3-%s-XXXXXX", tag);
  int fd = mkstemp(p);
  assert_true(fd >= 0);
  const uint8_t *b = data;
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, b + off, len - off);
    assert_true(n > 0);
    off += (size_t)n;
  }
  close(fd);
  return p;
}

/* Runs b3sum on a file; returns the hex output (caller frees). */
static char *b3sum_hex(const char *file, enum mode m, size_t out_len) {
  char cmd[512];
  const char *keyfile = NULL;
  switch (m) {
  case V_HASH:
    snprintf(cmd, sizeof cmd, "b3sum --no-names --length %zu '%s'", out_len, file);
    break;
  case V_KEYED:
    keyfile = write_temp("key", OFFICIAL_KEY, 32);
    snprintf(cmd, sizeof cmd, "b3sum --keyed --no-names --length %zu '%s' < '%s'", out_len, file,
             keyfile);
    break;
  case V_DERIVE:
    snprintf(cmd, sizeof cmd, "b3sum --derive-key '%s' --no-names --length %zu '%s'",
             OFFICIAL_CONTEXT, out_len, file);
    break;
  }
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  size_t cap = 2 * out_len + 16;
  char *buf = calloc(1, cap);
  assert_non_null(buf);
  size_t n = fread(buf, 1, cap - 1, f);
  int rc = pclose(f);
  if (keyfile) unlink(keyfile);
  assert_int_equal(rc, 0);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = 0;
  assert_int_equal(n, 2 * out_len);
  return buf;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

static void test_official_vectors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof OFFICIAL / sizeof OFFICIAL[0]; i++) {
    size_t len = OFFICIAL[i].len;
    uint8_t *data = malloc(len + 1);
    assert_non_null(data);
    fill_pattern(data, len);
    assert_int_equal(strlen(OFFICIAL[i].hex), 2 * XOF_LEN);
    check_all_ways(OFFICIAL[i].mode, data, len, OFFICIAL[i].hex, XOF_LEN);
    /* Default-length output is the first 32 bytes. */
    char want32[65];
    memcpy(want32, OFFICIAL[i].hex, 64);
    want32[64] = 0;
    check_all_ways(OFFICIAL[i].mode, data, len, want32, 32);
    if (OFFICIAL[i].mode == V_HASH) {
      uint8_t d[32];
      char hex[65];
      roam_blake3(d, data, len);
      to_hex(d, 32, hex);
      assert_string_equal(hex, want32);
    }
    free(data);
  }
}

static void test_b3sum_lengths(void **state) {
  (void)state;
  REQUIRE_B3SUM();
  size_t lens[40] = {0,    1,    63,   64,    65,    1023,  1024,  1025,   2048,  2049,  3072,
                     3073, 4096, 4097, 5120,  8192,  16384, 31744, 65536,  102400, 102401};
  size_t n = 21;
  lcg_state = 12345;
  while (n < 32) lens[n++] = (size_t)(rnd() % 140000); /* a few random lengths */
  lens[n++] = 1024 * 64 * 3 + 1; /* several full 64-chunk subtrees */
  lens[n++] = 1024 * 1024 + 1023;
  uint8_t *data = malloc(1024 * 1024 + 1024);
  assert_non_null(data);
  for (size_t i = 0; i < n; i++) {
    fill_pattern(data, lens[i]);
    const char *file = write_temp("in", data, lens[i]);
    char *want = b3sum_hex(file, V_HASH, 64);
    unlink(file);
    check_all_ways(V_HASH, data, lens[i], want, 64);
    free(want);
  }
  free(data);
}

static void test_b3sum_random_data(void **state) {
  (void)state;
  REQUIRE_B3SUM();
  /* Non-pattern bytes, odd lengths, random splits. */
  lcg_state = 777;
  for (int round = 0; round < 4; round++) {
    size_t len = 1 + (size_t)(rnd() % 300000);
    uint8_t *data = malloc(len);
    assert_non_null(data);
    for (size_t i = 0; i < len; i++) data[i] = (uint8_t)(rnd() >> 11);
    const char *file = write_temp("rnd", data, len);
    char *want = b3sum_hex(file, V_HASH, 32);
    unlink(file);
    check_all_ways(V_HASH, data, len, want, 32);
    free(want);
    free(data);
  }
}

static void test_b3sum_xof(void **state) {
  (void)state;
  REQUIRE_B3SUM();
  static const size_t in_lens[] = {0, 1, 64, 1025, 65536, 100000};
  static const size_t out_lens[] = {1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000, 4103};
  uint8_t *data = malloc(100000);
  uint8_t *out = malloc(4103);
  char *hex = malloc(2 * 4103 + 1);
  assert_non_null(data);
  assert_non_null(out);
  assert_non_null(hex);
  for (size_t i = 0; i < sizeof in_lens / sizeof in_lens[0]; i++) {
    fill_pattern(data, in_lens[i]);
    const char *file = write_temp("xof", data, in_lens[i]);
    char *big = b3sum_hex(file, V_HASH, 4103);
    for (size_t j = 0; j < sizeof out_lens / sizeof out_lens[0]; j++) {
      size_t ol = out_lens[j];
      char *want = b3sum_hex(file, V_HASH, ol);
      assert_memory_equal(want, big, 2 * ol); /* prefix property of b3sum itself */
      roam_blake3_hasher h;
      roam_blake3_hasher_init(&h);
      roam_blake3_hasher_update(&h, data, in_lens[i]);
      roam_blake3_hasher_finalize(&h, out, ol);
      to_hex(out, ol, hex);
      assert_string_equal(hex, want);
      free(want);
    }
    /* Seeking: any window of the output stream. */
    roam_blake3_hasher h;
    roam_blake3_hasher_init(&h);
    roam_blake3_hasher_update(&h, data, in_lens[i]);
    for (int k = 0; k < 50; k++) {
      size_t seek = (size_t)(rnd() % 4000);
      size_t n = 1 + (size_t)(rnd() % (4103 - seek));
      roam_blake3_hasher_finalize_seek(&h, seek, out, n);
      to_hex(out, n, hex);
      assert_memory_equal(hex, big + 2 * seek, 2 * n);
    }
    unlink(file);
    free(big);
  }
  free(hex);
  free(out);
  free(data);
}

static void test_b3sum_keyed_and_derive(void **state) {
  (void)state;
  REQUIRE_B3SUM();
  static const size_t lens[] = {0, 1, 1024, 1025, 4097, 70000};
  uint8_t *data = malloc(70000);
  assert_non_null(data);
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    fill_pattern(data, lens[i]);
    const char *file = write_temp("kd", data, lens[i]);
    char *want = b3sum_hex(file, V_KEYED, 80);
    check_all_ways(V_KEYED, data, lens[i], want, 80);
    free(want);
    want = b3sum_hex(file, V_DERIVE, 80);
    check_all_ways(V_DERIVE, data, lens[i], want, 80);
    free(want);
    unlink(file);
  }
  free(data);
}

static void test_update_after_finalize_and_reset(void **state) {
  (void)state;
  uint8_t data[5000], a[32], b[32];
  fill_pattern(data, sizeof data);
  roam_blake3_hasher h;
  roam_blake3_hasher_init(&h);
  roam_blake3_hasher_update(&h, data, 3000);
  roam_blake3_hasher_finalize(&h, a, 32); /* does not disturb the state */
  roam_blake3_hasher_update(&h, data + 3000, 2000);
  roam_blake3_hasher_finalize(&h, a, 32);
  roam_blake3(b, data, sizeof data);
  assert_memory_equal(a, b, 32);
  roam_blake3_hasher_reset(&h);
  roam_blake3_hasher_update(&h, data, sizeof data);
  roam_blake3_hasher_finalize(&h, a, 32);
  assert_memory_equal(a, b, 32);
  /* Empty updates and a NULL pointer with length 0 are no-ops. */
  roam_blake3_hasher_reset(&h);
  roam_blake3_hasher_update(&h, NULL, 0);
  roam_blake3_hasher_finalize(&h, a, 32);
  roam_blake3(b, "", 0);
  assert_memory_equal(a, b, 32);
  /* Zero-length output writes nothing. */
  roam_blake3_hasher_finalize(&h, NULL, 0);
}

static void test_backends_agree_large(void **state) {
  (void)state;
  /* Larger than anything above, no external tool: every back end and split
   * pattern must give the same digest as the portable one-call hash. */
  size_t len = 3 * 1024 * 1024 + 777;
  uint8_t *data = malloc(len);
  assert_non_null(data);
  lcg_state = 4242;
  for (size_t i = 0; i < len; i++) data[i] = (uint8_t)(rnd() >> 13);
  uint8_t ref[32];
  char hex[65];
  hash_split(V_HASH, ROAM_BLAKE3_PORTABLE, 0, data, len, ref, 32);
  to_hex(ref, 32, hex);
  for (int be = ROAM_BLAKE3_PORTABLE; be <= ROAM_BLAKE3_AVX512; be++) {
    static const long splits[] = {0, 4096, 65536 + 1024, 1000003, -1};
    for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
      uint8_t out[32];
      hash_split(V_HASH, (roam_blake3_backend)be, splits[s], data, len, out, 32);
      assert_memory_equal(out, ref, 32);
    }
  }
  if (have_b3sum()) {
    const char *file = write_temp("large", data, len);
    char *want = b3sum_hex(file, V_HASH, 32);
    unlink(file);
    assert_string_equal(hex, want);
    free(want);
  }
  free(data);
}

static void test_backend_names(void **state) {
  (void)state;
  assert_string_equal(roam_blake3_backend_name(ROAM_BLAKE3_PORTABLE), "portable");
  assert_string_equal(roam_blake3_backend_name(ROAM_BLAKE3_AVX512), "avx512");
  roam_blake3_backend best = roam_blake3_backend_detected();
  assert_true(best >= ROAM_BLAKE3_PORTABLE && best <= ROAM_BLAKE3_AVX512);
  print_message("BLAKE3 back end detected: %s\n", roam_blake3_backend_name(best));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backend_names),
      cmocka_unit_test(test_official_vectors),
      cmocka_unit_test(test_update_after_finalize_and_reset),
      cmocka_unit_test(test_b3sum_lengths),
      cmocka_unit_test(test_b3sum_random_data),
      cmocka_unit_test(test_b3sum_xof),
      cmocka_unit_test(test_b3sum_keyed_and_derive),
      cmocka_unit_test(test_backends_agree_large),
  };
  return cmocka_run_group_tests_name("blake3", tests, NULL, NULL);
}
