/*
 * roam-c: common definitions shared by every layer.
 *
 * Error codes, allocation hooks, logging callback, byte views.
 *
 * Thread-safety: everything in this header is stateless or read-only and may
 * be used from any thread.
 */
#ifndef ROAM_COMMON_H
#define ROAM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ROAM_VERSION_MAJOR 0
#define ROAM_VERSION_MINOR 1
#define ROAM_VERSION_PATCH 0
#define ROAM_VERSION_STRING "0.1.0"

#if defined(__GNUC__) || defined(__clang__)
#define ROAM_EXTERN __attribute__((visibility("default")))
#define ROAM_NODISCARD __attribute__((warn_unused_result))
#else
#define ROAM_EXTERN
#define ROAM_NODISCARD
#endif

/*
 * Error codes. Every fallible function returns 0 (ROAM_OK) or one of these
 * negative values. X-macro: XX(NAME, value, "message").
 *
 * Codes from -1 to -99 are caller or local conditions; -100 to -199 are
 * decode errors of the wire layer; -200 and below are results of remote
 * calls (what the peer answered) and link-level outcomes.
 */
#define ROAM_ERRNO_MAP(XX)                                                     \
  XX(NOMEM, -1, "out of memory")                                               \
  XX(INVALID_ARG, -2, "invalid argument")                                      \
  XX(BUFFER_FULL, -3, "output buffer too small")                               \
  XX(WOULD_BLOCK, -4, "operation would block (no credit or output buffer full)") \
  XX(STATE, -5, "operation not valid in the current state")                    \
  XX(LIMIT, -6, "a configured limit was reached")                              \
  XX(PAYLOAD_TOO_LARGE, -7, "payload exceeds the negotiated maximum")          \
  XX(NOT_FOUND, -8, "no such call, channel or connection")                     \
  XX(CLOSED, -9, "connection closed")                                          \
  XX(TIMEOUT, -10, "timed out")                                                \
  XX(CANCELLED, -11, "cancelled")                                              \
  XX(IO, -12, "I/O error (see errno)")                                         \
  XX(ADDRESS, -13, "invalid or unresolvable address")                          \
  XX(PROTOCOL, -14, "protocol violation (Goodbye sent)")                       \
  XX(REJECTED, -15, "virtual connection rejected by the peer")                 \
  XX(RETRIES_EXHAUSTED, -16, "reconnect attempts exhausted")                   \
  XX(METADATA_LIMIT, -17, "metadata exceeds the protocol limits")              \
  XX(TRUNCATED, -100, "input ended before the value was complete")             \
  XX(VARINT, -101, "varint too long or overflows its type")                    \
  XX(BAD_BOOL, -102, "bool byte other than 0 or 1")                            \
  XX(BAD_UTF8, -103, "string is not valid UTF-8")                              \
  XX(UNKNOWN_VARIANT, -104, "unknown message discriminant")                    \
  XX(HELLO_VERSION, -105, "unknown or deprecated Hello version")               \
  XX(DECODE, -106, "malformed input")                                          \
  XX(TRAILING, -107, "trailing bytes after the value")                         \
  XX(COBS, -108, "invalid COBS frame")                                         \
  XX(FRAME_TOO_LARGE, -109, "frame exceeds the maximum frame size")            \
  XX(BAD_CHAR, -110, "not a Unicode scalar value")                             \
  XX(REMOTE_USER, -200, "the method returned its own error")                   \
  XX(REMOTE_UNKNOWN_METHOD, -201, "the peer does not know the method")         \
  XX(REMOTE_INVALID_PAYLOAD, -202, "the peer could not decode the arguments")  \
  XX(REMOTE_CANCELLED, -203, "the peer cancelled or refused the call")         \
  XX(BAD_RESPONSE, -204, "the response payload is malformed")

typedef enum roam_error {
  ROAM_OK = 0,
#define ROAM__ERR_ENUM(name, val, msg) ROAM_ERR_##name = (val),
  ROAM_ERRNO_MAP(ROAM__ERR_ENUM)
#undef ROAM__ERR_ENUM
} roam_error;

/* Human-readable message for an error code ("unknown error" otherwise). */
ROAM_EXTERN const char *roam_strerror(int err);
/* Symbolic name, e.g. "ROAM_ERR_TIMEOUT". */
ROAM_EXTERN const char *roam_err_name(int err);

/* A borrowed view of bytes. Never owns its memory. */
typedef struct roam_bytes {
  const uint8_t *ptr;
  size_t len;
} roam_bytes;

/*
 * Allocation hooks. Every object that allocates takes a `const roam_mem *`;
 * NULL means the C library's malloc/realloc/free. The structure is copied,
 * so it may live on the stack. `free` must accept NULL.
 */
typedef struct roam_mem {
  void *user_data;
  void *(*malloc)(size_t size, void *user_data);
  void *(*realloc)(void *ptr, size_t size, void *user_data);
  void (*free)(void *ptr, void *user_data);
} roam_mem;

/* The default (libc) allocator. */
ROAM_EXTERN const roam_mem *roam_mem_default(void);

typedef enum roam_log_level {
  ROAM_LOG_ERROR = 0,
  ROAM_LOG_WARN = 1,
  ROAM_LOG_INFO = 2,
  ROAM_LOG_DEBUG = 3
} roam_log_level;

/*
 * Logging callback. The library never prints on its own: everything it has
 * to say goes through one of these. `msg` is NUL-terminated and only valid
 * during the call.
 */
typedef void (*roam_log_fn)(void *user_data, roam_log_level level, const char *msg);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_COMMON_H */
