/*
 * roam-gen naming (documented in docs/roam-gen.md, "Names"):
 *   - the file prefix is the stem, lowercased, other characters than
 *     letters and digits turned into '_' (and an 'x' in front of a digit);
 *   - types are <prefix>_<snake_case(Name)>; services are
 *     <prefix>_<snake(Service)>, or just <prefix> when the two are equal;
 *     macros are the uppercase of those;
 *   - struct fields, parameters and union members keep the Rust name; a C
 *     keyword, a name C reserves (leading underscore and capital or second
 *     underscore), a stdbool/stddef macro name, or a name in the generated
 *     code's own `roam_` space gets a trailing '_';
 *   - whatever still collides with a name given earlier (types in
 *     declaration order first, then derived names) gets _2, _3, ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roam/method_id.h>

#include "gen.h"

static void *pool_keep(gen *g, void *p) {
  if (p == NULL)
    return NULL;
  if (g->npool == g->cappool) {
    size_t cap = g->cappool ? g->cappool * 2 : 256;
    void **np = realloc(g->pool, cap * sizeof *np);
    if (np == NULL) {
      free(p);
      return NULL;
    }
    g->pool = np;
    g->cappool = cap;
  }
  g->pool[g->npool++] = p;
  return p;
}

static void oom(void) {
  fprintf(stderr, "roam-gen: out of memory\n");
  exit(1);
}

void *gen_zalloc(gen *g, size_t n) {
  void *p = pool_keep(g, calloc(1, n ? n : 1));
  if (p == NULL)
    oom();
  return p;
}

char *gen_strdup(gen *g, const char *s) {
  size_t n = strlen(s) + 1;
  char *d = pool_keep(g, malloc(n));
  if (d == NULL)
    oom();
  memcpy(d, s, n);
  return d;
}

char *gen_fmt(gen *g, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *d = n >= 0 ? pool_keep(g, malloc((size_t)n + 1)) : NULL;
  if (d == NULL)
    oom();
  va_start(ap, fmt);
  vsnprintf(d, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return d;
}

static size_t hash_str(const char *s) {
  size_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

bool scope_has(const scope *s, const char *name) {
  if (s->cap == 0)
    return false;
  for (size_t i = hash_str(name) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    if (s->slots[i] == NULL)
      return false;
    if (strcmp(s->slots[i], name) == 0)
      return true;
  }
}

static void scope_put(scope *s, char *name) {
  if ((s->count + 1) * 2 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    char **slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
      oom();
    for (size_t i = 0; i < s->cap; i++)
      if (s->slots[i]) {
        size_t j = hash_str(s->slots[i]) & (cap - 1);
        while (slots[j])
          j = (j + 1) & (cap - 1);
        slots[j] = s->slots[i];
      }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
  }
  size_t j = hash_str(name) & (s->cap - 1);
  while (s->slots[j])
    j = (j + 1) & (s->cap - 1);
  s->slots[j] = name;
  s->count++;
}

const char *scope_take(gen *g, scope *s, const char *wanted) {
  char *name = gen_strdup(g, wanted);
  for (unsigned k = 2; scope_has(s, name); k++)
    name = gen_fmt(g, "%s_%u", wanted, k);
  scope_put(s, name);
  return name;
}

void scope_free(scope *s) {
  free(s->slots);
  memset(s, 0, sizeof *s);
}

char *snake(gen *g, const char *name) {
  size_t n = strlen(name), len = 0;
  char *out = pool_keep(g, malloc(2 * n + 2));
  if (out == NULL)
    oom();
  if (roam_kebab_case(name, n, out, 2 * n + 2, &len) != 0 || len == 0) {
    /* no letters or digits at all (impossible for a Rust identifier but
     * `_`): keep something usable */
    snprintf(out, 2 * n + 2, "x");
    return out;
  }
  for (char *p = out; *p; p++)
    if (*p == '-')
      *p = '_';
  if (out[0] >= '0' && out[0] <= '9')
    return gen_fmt(g, "x%s", out);
  return out;
}

char *upper(gen *g, const char *s) {
  char *u = gen_strdup(g, s);
  for (char *p = u; *p; p++)
    if (*p >= 'a' && *p <= 'z')
      *p = (char)(*p - 'a' + 'A');
  return u;
}

static const char *const reserved[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "bool", "true", "false", "NULL",
    "errno", "assert", "offsetof", "static_assert", "alignas", "alignof", "noreturn",
    "complex", "imaginary", "thread_local", "asm", "typeof", "main", "unix", "linux"};

char *c_member(gen *g, const char *rust_name) {
  bool bad = strncmp(rust_name, "roam_", 5) == 0 ||
             (rust_name[0] == '_' && (rust_name[1] == '_' || (rust_name[1] >= 'A' &&
                                                               rust_name[1] <= 'Z')));
  for (size_t i = 0; !bad && i < sizeof reserved / sizeof reserved[0]; i++)
    bad = strcmp(rust_name, reserved[i]) == 0;
  if (bad && rust_name[0] == '_')
    return gen_fmt(g, "x%s_", rust_name);
  return bad ? gen_fmt(g, "%s_", rust_name) : gen_strdup(g, rust_name);
}
