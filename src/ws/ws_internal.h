/* Internals of the WebSocket codec (src/ws/). */
#ifndef ROAM_WS_INTERNAL_H
#define ROAM_WS_INTERNAL_H

#include <wslay/wslay.h>

#include "common/mem.h"
#include "ws/ws.h"

struct rws {
  roam_mem mem;
  bool server;
  rws_state state;
  size_t max_message;
  char *path, *host, *origins; /* copies */
  char key[25];                /* client: the Sec-WebSocket-Key sent */

  /* handshake: the header collected so far */
  uint8_t *hbuf;
  size_t hlen;
  bool opened; /* to report through rws_take_opened */

  /* framing (wslay frame layer) */
  wslay_frame_context_ptr fr;
  const uint8_t *in; /* the input being fed, for the recv callback */
  size_t in_len, in_off;
  bool in_frame;         /* between a frame's first chunk and its end */
  uint8_t f_opcode;
  bool f_fin;
  uint64_t f_left;       /* payload bytes of the frame still to come */
  bool in_message;       /* a fragmented data message is being assembled */
  uint8_t *msg;          /* the message being assembled, then ready */
  size_t msg_len, msg_cap;
  bool msg_ready;
  uint8_t ctrl[125];     /* the control frame being received */
  size_t ctrl_len;

  /* output */
  uint8_t *out;
  size_t out_len, out_head, out_cap;
  uint8_t maskpool[256]; /* client masking keys, drawn from getrandom in bulk */
  size_t maskpool_left;
  bool close_sent;

  /* how it ended */
  uint16_t vcode;
  const char *vrule;
  bool peer_closed;
  uint16_t peer_code;
  const char *error;
};

/* ws_http.c: the Upgrade handshake */
/* A complete header (hbuf, hlen, ending with CRLF CRLF) arrived: answer it
 * (server) or check it (client); the state becomes OPEN or FAILED. */
int rws__http_server(rws *w);
int rws__http_client(rws *w);
int rws__http_client_request(rws *w);
/* Server: the request header passed RWS_MAX_HEADER bytes. */
int rws__http_too_large(rws *w);

/* ws_frames.c */
int rws__out_append(rws *w, const void *p, size_t n);

#endif
