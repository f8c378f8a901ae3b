/* Shared helpers of the runtime tests: a test server (in-process or forked)
 * with a few handlers, payload helpers, and a tiny check framework. */
#ifndef RT_TESTLIB_H
#define RT_TESTLIB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include <roam/postcard.h>
#include <roam/runtime.h>

/* Method ids of the test server. */
#define T_ECHO 0x9aabc4ba61fd5df3ull  /* Testbed.echo: String -> String (bytes echoed) */
#define T_HANG 0x1002ull              /* never answers (until cancelled) */
#define T_DELAY 0x1003ull             /* (u32 ms) -> (), answers after ms */
#define T_STREAM_IN 0x2001ull         /* (Tx<bytes>) -> (u64 count, u64 bytes, u64 hash) */
#define T_STREAM_OUT 0x2002ull        /* (u32 count, u32 size, Rx<bytes>) -> u64 hash */
#define T_RSS 0x3001ull               /* () -> u64 VmRSS in KiB of the server */
#define T_EXIT 0x3002ull              /* () -> (); the server process exits after answering */

extern _Atomic int t_failures; /* atomic: threaded tests check from several threads */
extern _Atomic int t_checks;

#define CHECK(cond)                                                                   \
  do {                                                                                \
    t_checks++;                                                                       \
    if (!(cond)) {                                                                    \
      t_failures++;                                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);       \
    }                                                                                 \
  } while (0)

#define CHECK_EQ(a, b)                                                                \
  do {                                                                                \
    long long _a = (long long)(a), _b = (long long)(b);                               \
    t_checks++;                                                                       \
    if (_a != _b) {                                                                   \
      t_failures++;                                                                   \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld\n", __FILE__,    \
              __LINE__, #a, _a, #b, _b);                                              \
    }                                                                                 \
  } while (0)

/* Print the closing summary line and return the exit code. */
int t_finish(const char *name);

/* Test server options. */
typedef struct t_server_opts {
  uint32_t credit;         /* initial_channel_credit (0 = default) */
  uint32_t max_payload;    /* 0 = default */
  size_t high_water;       /* output_high_water (0 = default) */
  uint64_t handshake_ms;   /* 0 = default */
  bool install_signals;    /* SIGTERM/SIGINT -> graceful shutdown, exit */
  uint64_t shutdown_ms;    /* graceful shutdown deadline */
  uint64_t delay_ms;       /* t_fork_server_delayed: wait before listening */
  size_t eager_flush;      /* eager_flush_bytes (0 = default) */
  uint32_t loops;          /* roam_server_options.loops (0 = default) */
} t_server_opts;

/* Register the test handlers on a server. */
void t_register_handlers(roam_server *srv);
/* Fill link options from t_server_opts. */
void t_apply_opts(roam_link_options *lo, const t_server_opts *o);

/* Fork a server process listening on addr ("tcp://127.0.0.1:0" picks a
 * port). The bound address is written into bound (cap bytes). Returns the
 * child's pid (the child never returns). */
pid_t t_fork_server(const char *addr, const t_server_opts *o, char *bound, size_t cap);
/* Fork a server that starts listening on addr (a known address) only after
 * o->delay_ms; returns at once. */
pid_t t_fork_server_delayed(const char *addr, const t_server_opts *o);
/* SIGTERM (or SIGKILL) and reap. Returns the exit status. */
int t_stop_server(pid_t pid, int sig);

/* Payload helpers. */
size_t t_enc_string(uint8_t *buf, size_t cap, const char *s, size_t len);
/* Call echo(s) on c (5 s timeout): 0 when the same string came back, the
 * call's error, or -999 for a different answer. */
int t_echo(roam_client *c, const char *s);
/* Deterministic bytes of value i of a stream. */
void t_fill_value(uint8_t *p, size_t n, uint64_t i);
uint64_t t_hash(uint64_t h, const uint8_t *p, size_t n);
#define T_HASH_INIT 1469598103934665603ull

long t_rss_kib(void);
uint64_t t_now_ms(void);
/* A unique Unix socket path in /tmp. */
void t_unix_addr(char *buf, size_t cap, const char *tag);

#endif
