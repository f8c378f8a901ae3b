/* roam_arena: bump allocation for decoded values, released all at once. */
#include <string.h>

#include <roam/gen.h>

#include "common/mem.h"

struct roam_arena_chunk {
  roam_arena_chunk *next;
  size_t cap;
  max_align_t data[];
};

#define ARENA_ALIGN (sizeof(max_align_t))
#define ARENA_MIN_CHUNK 4096u
#define ARENA_MAX_GROWTH (1u << 20)

void roam_arena_init(roam_arena *a, const roam_mem *mem) {
  memset(a, 0, sizeof *a);
  roam__mem_set(&a->mem, mem);
}

void roam_arena_init_buffer(roam_arena *a, void *buf, size_t cap, const roam_mem *mem) {
  roam_arena_init(a, mem);
  /* align the start of the caller's buffer */
  uintptr_t p = (uintptr_t)buf, q = (p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
  if (buf && cap > q - p) {
    a->first = (uint8_t *)q;
    a->first_cap = cap - (q - p);
    a->buf = a->first;
    a->avail = a->first_cap;
  }
}

static void *arena_grow(roam_arena *a, size_t n) {
  size_t last = a->chunks ? a->chunks->cap : ARENA_MIN_CHUNK / 2;
  size_t cap = last < ARENA_MAX_GROWTH ? last * 2 : last;
  if (cap < n)
    cap = n;
  if (cap > SIZE_MAX - sizeof(roam_arena_chunk))
    return NULL;
  roam_arena_chunk *c = roam__malloc(&a->mem, sizeof *c + cap);
  if (c == NULL)
    return NULL;
  c->cap = cap;
  c->next = a->chunks;
  a->chunks = c;
  a->buf = (uint8_t *)c->data + n;
  a->avail = cap - n;
  return c->data;
}

void *roam_arena_alloc(roam_arena *a, size_t n) {
  if (n > SIZE_MAX - ARENA_ALIGN)
    return NULL;
  n = n ? (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1) : ARENA_ALIGN;
  if (a->limit && (n > a->limit || a->total > a->limit - n))
    return NULL;
  a->total += n;
  if (n <= a->avail) {
    void *p = a->buf;
    a->buf += n;
    a->avail -= n;
    return p;
  }
  void *p = arena_grow(a, n);
  if (p == NULL)
    a->total -= n;
  return p;
}

void *roam_arena_alloc_array(roam_arena *a, size_t count, size_t size, int *err) {
  if (size && count > SIZE_MAX / size) {
    *err = ROAM_ERR_LIMIT;
    return NULL;
  }
  size_t n = count * size;
  void *p = roam_arena_alloc(a, n);
  if (p == NULL)
    *err = a->limit && (n > a->limit || a->total > a->limit - n) ? ROAM_ERR_LIMIT
                                                                  : ROAM_ERR_NOMEM;
  return p;
}

void *roam_arena_copy(roam_arena *a, const void *p, size_t n) {
  void *d = roam_arena_alloc(a, n);
  if (d && n)
    memcpy(d, p, n);
  return d;
}

char *roam_arena_strdup(roam_arena *a, roam_str s) {
  char *d = roam_arena_alloc(a, s.len + 1);
  if (d) {
    if (s.len)
      memcpy(d, s.ptr, s.len);
    d[s.len] = 0;
  }
  return d;
}

void roam_arena_reset(roam_arena *a) {
  /* Without a caller buffer, keep the newest (largest) chunk for the next
   * round; with one, start over in the buffer and free every chunk. */
  roam_arena_chunk *keep = a->first ? NULL : a->chunks;
  roam_arena_chunk *c = keep ? keep->next : a->chunks;
  while (c) {
    roam_arena_chunk *next = c->next;
    roam__free(&a->mem, c);
    c = next;
  }
  a->chunks = keep;
  if (keep)
    keep->next = NULL;
  a->total = 0;
  if (a->first) {
    a->buf = a->first;
    a->avail = a->first_cap;
  } else if (keep) {
    a->buf = (uint8_t *)keep->data;
    a->avail = keep->cap;
  } else {
    a->buf = NULL;
    a->avail = 0;
  }
}

void roam_arena_free(roam_arena *a) {
  roam_arena_chunk *c = a->chunks;
  while (c) {
    roam_arena_chunk *next = c->next;
    roam__free(&a->mem, c);
    c = next;
  }
  a->chunks = NULL;
  a->buf = a->first;
  a->avail = a->first ? a->first_cap : 0;
  a->total = 0;
}

int roam_gen_dec_len_empty(roam_dec *d, size_t *out) {
  int rc = roam_dec_len_any(d, out);
  if (rc == 0 && *out > ROAM_GEN_MAX_EMPTY_ELEMS) {
    *out = 0;
    return ROAM_ERR_LIMIT;
  }
  return rc;
}

void roam_gen_enc_fail(roam_enc *e, int err) {
  if (e->err == 0)
    e->err = err;
}
