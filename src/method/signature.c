/*
 * Canonical signature bytes of roam types (see include/roam/method_id.h and
 * METHOD-ID.md). The encoder writes into a sink that either fills a caller
 * buffer (counting what does not fit) or streams into a BLAKE3 hasher, so no
 * allocation is ever needed.
 */
#include <string.h>

#include "method/method_internal.h"

#define STAGE_LEN 256

typedef struct sig_sink {
  /* Buffer mode. */
  uint8_t *out;
  size_t cap;
  /* Hasher mode (out unused). */
  roam_blake3_hasher *hasher;
  uint8_t stage[STAGE_LEN];
  size_t stage_len;

  size_t len; /* total bytes produced */
  unsigned flags;
  int err;
  /* Struct/enum/tuple descriptors being encoded (published mode: the path
   * from the root; visited-set mode: every one seen in this argument). */
  const roam_type *seen[ROAM_SIG_MAX_COMPOSITES];
  size_t nseen;
} sig_sink;

static void sink_flush(sig_sink *s) {
  if (s->hasher && s->stage_len) {
    roam_blake3_hasher_update(s->hasher, s->stage, s->stage_len);
    s->stage_len = 0;
  }
}

static void put_bytes(sig_sink *s, const void *p, size_t n) {
  if (s->err) return;
  if (n > ROAM_SIG_MAX_BYTES - s->len) {
    s->err = ROAM_ERR_LIMIT;
    return;
  }
  if (s->hasher) {
    if (s->stage_len + n > STAGE_LEN) {
      sink_flush(s);
      if (n > STAGE_LEN) {
        roam_blake3_hasher_update(s->hasher, p, n);
        s->len += n;
        return;
      }
    }
    memcpy(s->stage + s->stage_len, p, n);
    s->stage_len += n;
  } else if (s->len < s->cap) {
    size_t room = s->cap - s->len;
    memcpy(s->out + s->len, p, n < room ? n : room);
  }
  s->len += n;
}

static void put_byte(sig_sink *s, uint8_t b) { put_bytes(s, &b, 1); }

static void put_varint(sig_sink *s, uint64_t v) {
  uint8_t buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  buf[n++] = (uint8_t)v;
  put_bytes(s, buf, n);
}

static void put_str(sig_sink *s, const char *str) {
  if (!str) {
    if (!s->err) s->err = ROAM_ERR_INVALID_ARG;
    return;
  }
  size_t n = strlen(str);
  put_varint(s, n);
  put_bytes(s, str, n);
}

static void encode(sig_sink *s, const roam_type *t, unsigned depth);

static void encode_named_fields(sig_sink *s, const roam_field *fields, size_t count,
                                unsigned depth) {
  if (count && !fields) {
    s->err = ROAM_ERR_INVALID_ARG;
    return;
  }
  put_varint(s, count);
  for (size_t i = 0; i < count && !s->err; i++) {
    put_str(s, fields[i].name);
    encode(s, fields[i].type, depth + 1);
  }
}

static void encode_variant(sig_sink *s, const roam_variant *v, unsigned depth) {
  put_str(s, v->name);
  switch (v->kind) {
  case ROAM_VARIANT_UNIT:
    put_byte(s, 0x00);
    return;
  case ROAM_VARIANT_NEWTYPE:
    put_byte(s, 0x01);
    encode(s, v->type, depth + 1);
    return;
  case ROAM_VARIANT_STRUCT:
    put_byte(s, 0x02);
    encode_named_fields(s, v->fields, v->count, depth);
    return;
  case ROAM_VARIANT_TUPLE:
    if (v->count && !v->elems) break;
    if (v->count == 1) { /* a one-field tuple variant is a newtype */
      put_byte(s, 0x01);
      encode(s, v->elems[0], depth + 1);
      return;
    }
    put_byte(s, 0x02);
    put_varint(s, v->count);
    for (size_t i = 0; i < v->count && !s->err; i++) {
      char name[24];
      size_t n = 0;
      size_t x = i;
      do { /* decimal digits, reversed */
        name[n++] = (char)('0' + x % 10);
        x /= 10;
      } while (x);
      for (size_t a = 0, b = n - 1; a < b; a++, b--) {
        char tmp = name[a];
        name[a] = name[b];
        name[b] = tmp;
      }
      put_varint(s, n);
      put_bytes(s, name, n);
      encode(s, v->elems[i], depth + 1);
    }
    return;
  }
  if (!s->err) s->err = ROAM_ERR_INVALID_ARG;
}

static void encode(sig_sink *s, const roam_type *t, unsigned depth) {
  if (s->err) return;
  if (!t) {
    s->err = ROAM_ERR_INVALID_ARG;
    return;
  }
  if (depth > ROAM_SIG_MAX_NESTING) {
    s->err = ROAM_ERR_LIMIT;
    return;
  }
  switch (t->kind) {
  case ROAM_TYPE_BOOL:
  case ROAM_TYPE_U8:
  case ROAM_TYPE_U16:
  case ROAM_TYPE_U32:
  case ROAM_TYPE_U64:
  case ROAM_TYPE_U128:
  case ROAM_TYPE_I8:
  case ROAM_TYPE_I16:
  case ROAM_TYPE_I32:
  case ROAM_TYPE_I64:
  case ROAM_TYPE_I128:
  case ROAM_TYPE_F32:
  case ROAM_TYPE_F64:
  case ROAM_TYPE_CHAR:
  case ROAM_TYPE_STRING:
  case ROAM_TYPE_UNIT:
  case ROAM_TYPE_BYTES:
    put_byte(s, (uint8_t)t->kind);
    return;
  case ROAM_TYPE_RESULT:
  case ROAM_TYPE_OPAQUE:
    put_byte(s, 0x10); /* opaque to roam-hash 0.6.0: written as unit */
    return;
  case ROAM_TYPE_LIST:
    if (!t->elem) break;
    if (t->elem->kind == ROAM_TYPE_U8) { /* Vec<u8> is bytes */
      put_byte(s, ROAM_TYPE_BYTES);
      return;
    }
    put_byte(s, ROAM_TYPE_LIST);
    encode(s, t->elem, depth + 1);
    return;
  case ROAM_TYPE_OPTION:
  case ROAM_TYPE_SET:
  case ROAM_TYPE_TX:
  case ROAM_TYPE_RX:
    put_byte(s, (uint8_t)t->kind);
    encode(s, t->elem, depth + 1);
    return;
  case ROAM_TYPE_ARRAY:
    put_byte(s, ROAM_TYPE_ARRAY);
    put_varint(s, t->len);
    encode(s, t->elem, depth + 1);
    return;
  case ROAM_TYPE_MAP:
    put_byte(s, ROAM_TYPE_MAP);
    encode(s, t->elem, depth + 1);
    encode(s, t->elem2, depth + 1);
    return;
  case ROAM_TYPE_TUPLE:
  case ROAM_TYPE_STRUCT:
  case ROAM_TYPE_ENUM: {
    for (size_t i = 0; i < s->nseen; i++) {
      if (s->seen[i] == t) {
        put_byte(s, 0x32); /* back-reference */
        return;
      }
    }
    if (s->nseen == ROAM_SIG_MAX_COMPOSITES) {
      s->err = ROAM_ERR_LIMIT;
      return;
    }
    const size_t mark = s->nseen;
    s->seen[s->nseen++] = t;
    put_byte(s, (uint8_t)t->kind);
    if (t->kind == ROAM_TYPE_TUPLE) {
      if (t->count && !t->elems) {
        s->err = ROAM_ERR_INVALID_ARG;
        return;
      }
      put_varint(s, t->count);
      for (size_t i = 0; i < t->count && !s->err; i++) encode(s, t->elems[i], depth + 1);
    } else if (t->kind == ROAM_TYPE_STRUCT) {
      encode_named_fields(s, t->fields, t->count, depth);
    } else {
      if (t->count && !t->variants) {
        s->err = ROAM_ERR_INVALID_ARG;
        return;
      }
      put_varint(s, t->count);
      for (size_t i = 0; i < t->count && !s->err; i++) encode_variant(s, &t->variants[i], depth);
    }
    if (!(s->flags & ROAM_SIG_VISITED_SET)) s->nseen = mark; /* leave the path */
    return;
  }
  }
  if (!s->err) s->err = ROAM_ERR_INVALID_ARG;
}

/* One top-level type: back-reference tracking starts fresh. */
static void encode_root(sig_sink *s, const roam_type *t) {
  s->nseen = 0;
  encode(s, t ? t : &roam_type_unit, 0);
}

static int sink_init(sig_sink *s, unsigned flags) {
  if (flags & ~(unsigned)ROAM_SIG_VISITED_SET) return ROAM_ERR_INVALID_ARG;
  s->out = NULL;
  s->cap = 0;
  s->hasher = NULL;
  s->stage_len = 0;
  s->len = 0;
  s->flags = flags;
  s->err = ROAM_OK;
  s->nseen = 0;
  return ROAM_OK;
}

static void encode_signature(sig_sink *s, const roam_type *const *args, size_t argc,
                             const roam_type *ret) {
  if (argc && !args) {
    s->err = ROAM_ERR_INVALID_ARG;
    return;
  }
  put_byte(s, ROAM_TYPE_TUPLE);
  put_varint(s, argc);
  for (size_t i = 0; i < argc && !s->err; i++) {
    if (!args[i]) {
      s->err = ROAM_ERR_INVALID_ARG;
      return;
    }
    encode_root(s, args[i]);
  }
  encode_root(s, ret);
}

static int finish_buffer(sig_sink *s, size_t *out_len) {
  if (s->err) return s->err;
  if (out_len) *out_len = s->len;
  return s->len > s->cap ? ROAM_ERR_BUFFER_FULL : ROAM_OK;
}

int roam_type_encode(const roam_type *type, unsigned flags, uint8_t *out, size_t cap,
                     size_t *out_len) {
  if (!type || (!out && cap)) return ROAM_ERR_INVALID_ARG;
  sig_sink s;
  int rc = sink_init(&s, flags);
  if (rc) return rc;
  s.out = out;
  s.cap = cap;
  encode_root(&s, type);
  return finish_buffer(&s, out_len);
}

int roam_signature_encode(const roam_type *const *args, size_t argc, const roam_type *ret,
                          unsigned flags, uint8_t *out, size_t cap, size_t *out_len) {
  if (!out && cap) return ROAM_ERR_INVALID_ARG;
  sig_sink s;
  int rc = sink_init(&s, flags);
  if (rc) return rc;
  s.out = out;
  s.cap = cap;
  encode_signature(&s, args, argc, ret);
  return finish_buffer(&s, out_len);
}

int roam__signature_to_hasher(const roam_type *const *args, size_t argc, const roam_type *ret,
                              unsigned flags, roam_blake3_hasher *h) {
  sig_sink s;
  int rc = sink_init(&s, flags);
  if (rc) return rc;
  s.hasher = h;
  encode_signature(&s, args, argc, ret);
  if (s.err) return s.err;
  sink_flush(&s);
  return ROAM_OK;
}

/* ---- Primitive descriptors ---- */
const roam_type roam_type_bool = ROAM_PRIMITIVE(ROAM_TYPE_BOOL);
const roam_type roam_type_u8 = ROAM_PRIMITIVE(ROAM_TYPE_U8);
const roam_type roam_type_u16 = ROAM_PRIMITIVE(ROAM_TYPE_U16);
const roam_type roam_type_u32 = ROAM_PRIMITIVE(ROAM_TYPE_U32);
const roam_type roam_type_u64 = ROAM_PRIMITIVE(ROAM_TYPE_U64);
const roam_type roam_type_u128 = ROAM_PRIMITIVE(ROAM_TYPE_U128);
const roam_type roam_type_i8 = ROAM_PRIMITIVE(ROAM_TYPE_I8);
const roam_type roam_type_i16 = ROAM_PRIMITIVE(ROAM_TYPE_I16);
const roam_type roam_type_i32 = ROAM_PRIMITIVE(ROAM_TYPE_I32);
const roam_type roam_type_i64 = ROAM_PRIMITIVE(ROAM_TYPE_I64);
const roam_type roam_type_i128 = ROAM_PRIMITIVE(ROAM_TYPE_I128);
const roam_type roam_type_f32 = ROAM_PRIMITIVE(ROAM_TYPE_F32);
const roam_type roam_type_f64 = ROAM_PRIMITIVE(ROAM_TYPE_F64);
const roam_type roam_type_char = ROAM_PRIMITIVE(ROAM_TYPE_CHAR);
const roam_type roam_type_string = ROAM_PRIMITIVE(ROAM_TYPE_STRING);
const roam_type roam_type_unit = ROAM_PRIMITIVE(ROAM_TYPE_UNIT);
const roam_type roam_type_bytes = ROAM_PRIMITIVE(ROAM_TYPE_BYTES);
