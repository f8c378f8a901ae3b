/* roam_schema: the schema object, its arena, error reporting, file input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_internal.h"

struct rs_chunk {
  rs_chunk *next;
  size_t used, cap;
  max_align_t data[];
};

#define RS_CHUNK_SIZE (64u * 1024u)

void *rs_alloc(roam_schema *s, size_t n) {
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  if (n == 0)
    n = sizeof(max_align_t);
  rs_chunk *c = s->chunks;
  if (c == NULL || c->cap - c->used < n) {
    size_t cap = n > RS_CHUNK_SIZE ? n : RS_CHUNK_SIZE;
    c = malloc(sizeof *c + cap);
    if (c == NULL)
      return NULL;
    c->cap = cap;
    c->used = 0;
    c->next = s->chunks;
    s->chunks = c;
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  memset(p, 0, n);
  return p;
}

char *rs_strndup(roam_schema *s, const char *p, size_t n) {
  char *d = rs_alloc(s, n + 1);
  if (d != NULL) {
    memcpy(d, p, n);
    d[n] = 0;
  }
  return d;
}

void rs_set_error(roam_schema *s, roam_schema_pos pos, const char *fmt, ...) {
  int n = snprintf(s->error, sizeof s->error, "%s:%u:%u: ", pos.file ? pos.file : "<input>",
                   (unsigned)pos.line, (unsigned)pos.col);
  if (n < 0 || (size_t)n >= sizeof s->error)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->error + n, sizeof s->error - (size_t)n, fmt, ap);
  va_end(ap);
}

int rs_vec_push(rs_vec *v, void *item) {
  if (v->len == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 8;
    void **items = realloc(v->items, cap * sizeof *items);
    if (items == NULL)
      return -1;
    v->items = items;
    v->cap = cap;
  }
  v->items[v->len++] = item;
  return 0;
}

void rs_vec_free(rs_vec *v) {
  free(v->items);
  v->items = NULL;
  v->len = v->cap = 0;
}

void *rs_vec_finish_values(roam_schema *s, rs_vec *v, size_t size) {
  char *out = rs_alloc(s, v->len * size);
  if (out != NULL)
    for (size_t i = 0; i < v->len; i++)
      memcpy(out + i * size, v->items[i], size);
  rs_vec_free(v);
  return out;
}

void **rs_vec_finish_ptrs(roam_schema *s, rs_vec *v) {
  void **out = rs_alloc(s, v->len * sizeof *out);
  if (out != NULL && v->len)
    memcpy(out, v->items, v->len * sizeof *out);
  rs_vec_free(v);
  return out;
}

int roam_schema_new(roam_schema **out) {
  *out = calloc(1, sizeof **out);
  return *out ? 0 : -1;
}

void roam_schema_free(roam_schema *s) {
  if (s == NULL)
    return;
  rs_chunk *c = s->chunks;
  while (c) {
    rs_chunk *next = c->next;
    free(c);
    c = next;
  }
  free(s->files);
  free(s);
}

const char *roam_schema_error(const roam_schema *s) { return s->error; }

size_t roam_schema_file_count(const roam_schema *s) { return s->nfiles; }

const roam_schema_file *roam_schema_file_at(const roam_schema *s, size_t i) {
  return i < s->nfiles ? s->files[i] : NULL;
}

static const char *stem_of(roam_schema *s, const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  return rs_strndup(s, base, n);
}

int roam_schema_parse_text(roam_schema *s, const char *path, const char *text, size_t len) {
  s->error[0] = 0;
  if (s->nfiles == s->capfiles) {
    size_t cap = s->capfiles ? s->capfiles * 2 : 4;
    roam_schema_file **files = realloc(s->files, cap * sizeof *files);
    if (files == NULL)
      goto nomem;
    s->files = files;
    s->capfiles = cap;
  }
  roam_schema_file *f = rs_alloc(s, sizeof *f);
  if (f == NULL || (f->path = rs_strndup(s, path, strlen(path))) == NULL ||
      (f->stem = stem_of(s, path)) == NULL)
    goto nomem;
  if (rs_parse(s, f, text, len) != 0 || rs_resolve(s, f) != 0)
    return -1;
  s->files[s->nfiles++] = f;
  return 0;
nomem:
  snprintf(s->error, sizeof s->error, "%s: out of memory", path);
  return -1;
}

int roam_schema_parse_file(roam_schema *s, const char *path) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) {
    snprintf(s->error, sizeof s->error, "%s: %s", path, strerror(errno));
    return -1;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (cap - len < 4096) {
      cap = cap ? cap * 2 : 16384;
      char *nb = realloc(buf, cap);
      if (nb == NULL) {
        free(buf);
        fclose(fp);
        snprintf(s->error, sizeof s->error, "%s: out of memory", path);
        return -1;
      }
      buf = nb;
    }
    size_t n = fread(buf + len, 1, cap - len, fp);
    len += n;
    if (n == 0)
      break;
  }
  int rerr = ferror(fp);
  fclose(fp);
  if (rerr) {
    free(buf);
    snprintf(s->error, sizeof s->error, "%s: read error", path);
    return -1;
  }
  int rc = roam_schema_parse_text(s, path, buf, len);
  free(buf);
  return rc;
}

const roam_schema_decl *roam_schema_find_decl(const roam_schema_file *f, const char *name) {
  for (size_t i = 0; i < f->ndecls; i++)
    if (strcmp(f->decls[i]->name, name) == 0)
      return f->decls[i];
  return NULL;
}

bool roam_schema_is_bytes(const roam_schema_type *t) {
  return t->kind == ROAM_SCHEMA_VEC && t->elem->kind == ROAM_SCHEMA_U8;
}

typedef struct sbuf {
  char *out;
  size_t cap, len;
} sbuf;

static void put(sbuf *b, const char *str) {
  for (; *str; str++, b->len++)
    if (b->len + 1 < b->cap)
      b->out[b->len] = *str;
}

static void type_str(sbuf *b, const roam_schema_type *t) {
  static const char *const prim[] = {"bool", "u8",  "u16",  "u32", "u64", "u128",
                                     "i8",   "i16", "i32",  "i64", "i128", "f32",
                                     "f64",  "char", "String", "()"};
  char num[32];
  switch (t->kind) {
  case ROAM_SCHEMA_VEC: put(b, "Vec<"); type_str(b, t->elem); put(b, ">"); return;
  case ROAM_SCHEMA_OPTION: put(b, "Option<"); type_str(b, t->elem); put(b, ">"); return;
  case ROAM_SCHEMA_BOX: put(b, "Box<"); type_str(b, t->elem); put(b, ">"); return;
  case ROAM_SCHEMA_SET: put(b, "HashSet<"); type_str(b, t->elem); put(b, ">"); return;
  case ROAM_SCHEMA_TX: put(b, "Tx<"); type_str(b, t->elem); put(b, ">"); return;
  case ROAM_SCHEMA_RX: put(b, "Rx<"); type_str(b, t->elem); put(b, ">"); return;
  case ROAM_SCHEMA_MAP:
  case ROAM_SCHEMA_RESULT:
    put(b, t->kind == ROAM_SCHEMA_MAP ? "HashMap<" : "Result<");
    type_str(b, t->elem);
    put(b, ", ");
    type_str(b, t->elem2);
    put(b, ">");
    return;
  case ROAM_SCHEMA_ARRAY:
    put(b, "[");
    type_str(b, t->elem);
    snprintf(num, sizeof num, "; %llu]", (unsigned long long)t->len);
    put(b, num);
    return;
  case ROAM_SCHEMA_TUPLE:
    put(b, "(");
    for (size_t i = 0; i < t->count; i++) {
      if (i)
        put(b, ", ");
      type_str(b, t->elems[i]);
    }
    put(b, t->count == 1 ? ",)" : ")");
    return;
  case ROAM_SCHEMA_NAMED: put(b, t->name); return;
  default: put(b, prim[t->kind]); return;
  }
}

size_t roam_schema_type_str(const roam_schema_type *t, char *out, size_t cap) {
  sbuf b = {out, cap, 0};
  type_str(&b, t);
  if (cap)
    out[b.len < cap ? b.len : cap - 1] = 0;
  return b.len;
}
