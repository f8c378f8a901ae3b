/* The subject's WebSocket transport (PEER_ADDR=ws://host:port/path): the
 * codec of src/ws/ driven by the subject's own poll loop, the session in
 * message mode. Without WebSocket support in the build, sj_ws_supported()
 * is false and the rest is never called. */
#ifndef ROAM_SUBJECT_WS_H
#define ROAM_SUBJECT_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <roam/session.h>

typedef struct sj_ws sj_ws;

bool sj_ws_supported(void);
/* "ws://host:port/path" -> "host:port" and "/path"; -1 if malformed. */
int sj_ws_split(const char *addr, char *hostport, size_t hcap, char *path, size_t pcap);
/* Upgrade the connected (non-blocking) fd for session s (its frame limit
 * bounds the messages); waits up to timeout_ms for the 101. NULL on
 * failure, with the reason in err. */
sj_ws *sj_ws_open(int fd, const char *hostport, const char *path, roam_session *s,
                  uint64_t timeout_ms, char *err, size_t errcap);
void sj_ws_free(sj_ws *x);
/* Feed received bytes (len may be 0: deliver what is held). Returns the
 * bytes taken; *progress is set when a message reached the session. */
size_t sj_ws_feed(sj_ws *x, roam_session *s, const uint8_t *data, size_t len, bool *progress);
/* A message waits for the session (its output is above high water). */
bool sj_ws_holding(const sj_ws *x);
/* Frame the session's output and write what the socket takes; -1 when the
 * transport failed. */
int sj_ws_flush(sj_ws *x, int fd, roam_session *s);
bool sj_ws_has_output(const sj_ws *x, roam_session *s);
/* The session ended: queue the close frame (code for a violation by the
 * peer, else 1000) and write it out. */
void sj_ws_close(sj_ws *x, int fd, roam_session *s);

#endif
