/* Internals shared by the roam-gen support files. */
#ifndef ROAM_GEN_INTERNAL_H
#define ROAM_GEN_INTERNAL_H

#include <roam/gen.h>

/* The allocation hooks of a session (what its requests and channels use). */
const roam_mem *roam__session_mem(const roam_session *s);
/* The allocation hooks of a runtime channel (its loop's). */
const roam_mem *roam__chan_mem(const roam_chan *ch);

/* Encode into a stack buffer first and into a growing heap buffer only for
 * values larger than it. */
typedef struct gen_buf {
  roam_enc e;
  uint8_t stack[512];
} gen_buf;

/* mem: the hooks in force (the session's or the client loop's). */
static inline int gen_encode(gen_buf *b, const roam_mem *mem, roam_gen_encode_fn fn,
                             const void *value) {
  roam_enc_init(&b->e, b->stack, sizeof b->stack);
  if (fn == NULL)
    return 0;
  fn(&b->e, value);
  if (roam_enc_error(&b->e) == ROAM_ERR_BUFFER_FULL) {
    roam_enc_init_growable(&b->e, mem);
    fn(&b->e, value);
  }
  return roam_enc_error(&b->e);
}

static inline void gen_buf_free(gen_buf *b) { roam_enc_free(&b->e); }

#endif
