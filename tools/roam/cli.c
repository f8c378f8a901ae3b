/* Shared helpers of the roam command-line tool (cli.h). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_codec.h"

void cli_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "roam %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

bool cli_opt(int argc, char **argv, int *i, const char *name, const char *alias, bool takes_value,
             const char **val, bool *bad, const char *cmd) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  bool eq = false;
  if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, name, n) == 0 &&
      (a[2 + n] == 0 || (takes_value && a[2 + n] == '='))) {
    eq = a[2 + n] == '=';
  } else if (!(alias && strcmp(a, alias) == 0)) {
    return false;
  }
  if (!takes_value) return true;
  if (eq) {
    *val = a + 3 + n;
  } else if (*i + 1 < argc) {
    *val = argv[++*i];
  } else {
    cli_error(cmd, "option --%s needs a value", name);
    *bad = true;
  }
  return true;
}

bool cli_parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-' || isspace((unsigned char)*s)) return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end) return false;
  *out = v;
  return true;
}

bool cli_parse_seconds(const char *s, uint64_t *ms) {
  if (!s || !*s) return false;
  char *end;
  errno = 0;
  double d = strtod(s, &end);
  if (errno || *end || !(d >= 0) || d > 1e9) return false;
  *ms = (uint64_t)llround(d * 1000.0);
  return true;
}

bool cli_schema_add(cli_schemas *cs, const char *path, const char *cmd) {
  if (!cs->s && roam_schema_new(&cs->s) != 0) {
    cli_error(cmd, "out of memory");
    return false;
  }
  if (roam_schema_parse_file(cs->s, path) != 0) {
    cli_error(cmd, "%s", roam_schema_error(cs->s));
    return false;
  }
  cs->count++;
  return true;
}

void cli_schemas_free(cli_schemas *cs) {
  if (cs->s) roam_schema_free(cs->s);
  cs->s = NULL;
  cs->count = 0;
}

static size_t nfiles(const cli_schemas *cs) { return cs->s ? roam_schema_file_count(cs->s) : 0; }

const roam_schema_method *cli_find_method(const cli_schemas *cs, const char *name,
                                          const char *cmd) {
  const char *dot = strrchr(name, '.');
  if (!dot || dot == name || !dot[1]) {
    cli_error(cmd, "'%s' is not Service.method", name);
    return NULL;
  }
  size_t slen = (size_t)(dot - name);
  const roam_schema_service *svc = NULL;
  for (size_t f = 0; f < nfiles(cs); f++) {
    const roam_schema_file *file = roam_schema_file_at(cs->s, f);
    for (size_t i = 0; i < file->nservices; i++) {
      const roam_schema_service *s = &file->services[i];
      if (strlen(s->name) != slen || strncmp(s->name, name, slen) != 0) continue;
      svc = s;
      for (size_t j = 0; j < s->nmethods; j++)
        if (strcmp(s->methods[j].name, dot + 1) == 0) return &s->methods[j];
    }
  }
  if (!svc) {
    fprintf(stderr, "roam %s: unknown service '%.*s'; the schema has:", cmd, (int)slen, name);
    bool any = false;
    for (size_t f = 0; f < nfiles(cs); f++) {
      const roam_schema_file *file = roam_schema_file_at(cs->s, f);
      for (size_t i = 0; i < file->nservices; i++, any = true)
        fprintf(stderr, " %s", file->services[i].name);
    }
    fprintf(stderr, "%s\n", any ? "" : " no services");
    return NULL;
  }
  fprintf(stderr, "roam %s: unknown method '%s' of %s; it has:", cmd, dot + 1, svc->name);
  for (size_t j = 0; j < svc->nmethods; j++) fprintf(stderr, " %s", svc->methods[j].name);
  fputc('\n', stderr);
  return NULL;
}

const roam_schema_method *cli_method_by_id(const cli_schemas *cs, uint64_t id) {
  for (size_t f = 0; f < nfiles(cs); f++) {
    const roam_schema_file *file = roam_schema_file_at(cs->s, f);
    for (size_t i = 0; i < file->nservices; i++)
      for (size_t j = 0; j < file->services[i].nmethods; j++) {
        const roam_schema_method *m = &file->services[i].methods[j];
        if (m->id == id || m->id_visited_set == id) return m;
      }
  }
  return NULL;
}

void cli_params_str(const roam_schema_method *m, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (size_t i = 0; i < m->nparams && len < cap; i++) {
    char ts[256];
    roam_schema_type_str(m->params[i].type, ts, sizeof ts);
    int n = snprintf(buf + len, cap - len, "%s%s: %s", i ? ", " : "", m->params[i].name, ts);
    if (n < 0) break;
    len += (size_t)n;
  }
}

bool cli_meta_add(cli_meta *md, const char *kv, const char *cmd) {
  const char *eq = strchr(kv, '=');
  if (!eq || eq == kv) {
    cli_error(cmd, "--metadata wants key=value, got '%s'", kv);
    return false;
  }
  if (md->n == ROAM_META_MAX_ENTRIES) {
    cli_error(cmd, "too many --metadata entries (at most %d)", ROAM_META_MAX_ENTRIES);
    return false;
  }
  roam_meta_entry *e = &md->e[md->n++];
  memset(e, 0, sizeof *e);
  e->key = (roam_bytes){(const uint8_t *)kv, (size_t)(eq - kv)};
  e->kind = ROAM_META_STRING;
  e->value = (roam_bytes){(const uint8_t *)eq + 1, strlen(eq + 1)};
  return true;
}

bool cli_method_has_channels(const roam_schema_method *m) {
  for (size_t i = 0; i < m->nparams; i++) {
    roam_schema_kind k = m->params[i].type->kind;
    if (k == ROAM_SCHEMA_TX || k == ROAM_SCHEMA_RX) return true;
  }
  return false;
}

static bool check_rx_value(const roam_schema_param *p, json_t *v, char *err, size_t cap) {
  if (p->type->kind != ROAM_SCHEMA_RX) return true;
  if (json_is_array(v) || (json_is_string(v) && strcmp(json_string_value(v), "-") == 0))
    return true;
  snprintf(err, cap, "argument '%s' is a channel the caller feeds: give a JSON array of its values "
           "or \"-\" to read them from standard input, one per line", p->name);
  return false;
}

bool cli_bind_args(const roam_schema_method *m, json_t *args, json_t **per, char *err,
                   size_t errcap) {
  size_t ntx = 0;
  for (size_t i = 0; i < m->nparams; i++) {
    per[i] = NULL;
    if (m->params[i].type->kind == ROAM_SCHEMA_TX) ntx++;
  }
  char params[1024];
  cli_params_str(m, params, sizeof params);
  if (json_is_array(args)) {
    size_t n = json_array_size(args);
    bool all = n == m->nparams, skip_tx = ntx && n == m->nparams - ntx;
    if (!all && !skip_tx) {
      snprintf(err, errcap, "%s.%s takes %zu argument%s (%s), got %zu", m->service->name, m->name,
               m->nparams - ntx, m->nparams - ntx == 1 ? "" : "s", params, n);
      return false;
    }
    for (size_t i = 0, j = 0; i < m->nparams; i++) {
      const roam_schema_param *p = &m->params[i];
      if (p->type->kind == ROAM_SCHEMA_TX) {
        if (all) {
          json_t *v = json_array_get(args, j++);
          if (!json_is_null(v)) {
            snprintf(err, errcap, "argument '%s' is a channel the callee feeds: give null or "
                     "leave it out", p->name);
            return false;
          }
        }
        continue;
      }
      per[i] = json_array_get(args, j++);
      if (!check_rx_value(p, per[i], err, errcap)) return false;
    }
    return true;
  }
  if (json_is_object(args)) {
    size_t used = 0;
    for (size_t i = 0; i < m->nparams; i++) {
      const roam_schema_param *p = &m->params[i];
      json_t *v = json_object_get(args, p->name);
      if (v) used++;
      if (p->type->kind == ROAM_SCHEMA_TX) {
        if (v && !json_is_null(v)) {
          snprintf(err, errcap, "argument '%s' is a channel the callee feeds: give null or "
                   "leave it out", p->name);
          return false;
        }
        continue;
      }
      if (!v) {
        snprintf(err, errcap, "missing argument '%s' of %s.%s (%s)", p->name, m->service->name,
                 m->name, params);
        return false;
      }
      per[i] = v;
      if (!check_rx_value(p, v, err, errcap)) return false;
    }
    if (used != json_object_size(args)) {
      const char *key;
      json_t *val;
      json_object_foreach(args, key, val) {
        bool known = false;
        for (size_t i = 0; i < m->nparams && !known; i++) known = !strcmp(m->params[i].name, key);
        if (!known) {
          snprintf(err, errcap, "%s.%s has no argument '%s' (%s)", m->service->name, m->name, key,
                   params);
          return false;
        }
      }
    }
    return true;
  }
  snprintf(err, errcap, "arguments must be a JSON array in parameter order or an object by "
           "parameter name (%s.%s(%s))", m->service->name, m->name, params);
  return false;
}

int cli_encode_args(const roam_schema_method *m, json_t **per, const uint64_t *chan_ids,
                    roam_enc *e, char *err, size_t errcap) {
  for (size_t i = 0; i < m->nparams; i++) {
    const roam_schema_param *p = &m->params[i];
    if (p->type->kind == ROAM_SCHEMA_TX || p->type->kind == ROAM_SCHEMA_RX) {
      roam_enc_u64(e, chan_ids ? chan_ids[i] : 0);
      continue;
    }
    jc_ctx cx;
    jc_ctx_init(&cx, p->name);
    if (jc_encode(p->type, per[i], e, &cx)) {
      snprintf(err, errcap, "%s", cx.err);
      return -1;
    }
  }
  if (roam_enc_error(e)) {
    snprintf(err, errcap, "cannot encode the arguments: %s", roam_strerror(roam_enc_error(e)));
    return -1;
  }
  return 0;
}

bool cli_hex_decode(const char *s, uint8_t **out, size_t *len) {
  size_t cap = strlen(s) / 2 + 1, n = 0;
  uint8_t *b = malloc(cap);
  if (!b) return false;
  int hi = -1;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
  for (; *s; s++) {
    if (isspace((unsigned char)*s) || *s == ':') continue;
    int v = isdigit((unsigned char)*s) ? *s - '0'
            : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
            : (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10 : -1;
    if (v < 0) {
      free(b);
      return false;
    }
    if (hi < 0) {
      hi = v;
    } else {
      b[n++] = (uint8_t)(hi << 4 | v);
      hi = -1;
    }
  }
  if (hi >= 0) {
    free(b);
    return false;
  }
  *out = b;
  *len = n;
  return true;
}

void cli_hex_print(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
  putchar('\n');
}
