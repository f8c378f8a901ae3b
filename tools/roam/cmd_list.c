/*
 * roam list --schema FILE... [Service]
 *
 * The services of the definitions, each method with its id and Rust
 * signature, then the types the file declares.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CMD "list"

static void print_body(const roam_schema_body *b) {
  char ts[256];
  switch (b->shape) {
  case ROAM_SCHEMA_SHAPE_UNIT:
    return;
  case ROAM_SCHEMA_SHAPE_TUPLE:
    putchar('(');
    for (size_t i = 0; i < b->count; i++) {
      roam_schema_type_str(b->fields[i].type, ts, sizeof ts);
      printf("%s%s", i ? ", " : "", ts);
    }
    putchar(')');
    return;
  case ROAM_SCHEMA_SHAPE_NAMED:
    printf(" {");
    for (size_t i = 0; i < b->count; i++) {
      roam_schema_type_str(b->fields[i].type, ts, sizeof ts);
      printf("%s %s: %s", i ? "," : "", b->fields[i].name, ts);
    }
    printf(" }");
    return;
  }
}

static void print_doc_line(const char *doc) {
  if (!doc || !*doc) return;
  const char *nl = strchr(doc, '\n');
  printf("  // %.*s", nl ? (int)(nl - doc) : (int)strlen(doc), doc);
}

static void print_service(const roam_schema_service *svc) {
  printf("service %s (%s)", svc->name, svc->file->path);
  print_doc_line(svc->doc);
  putchar('\n');
  for (size_t j = 0; j < svc->nmethods; j++) {
    const roam_schema_method *m = &svc->methods[j];
    char params[1024], ret[256] = "";
    cli_params_str(m, params, sizeof params);
    if (m->ret) roam_schema_type_str(m->ret, ret, sizeof ret);
    printf("  0x%016" PRIx64 "  %s(%s)%s%s", m->id, m->name, params, m->ret ? " -> " : "", ret);
    print_doc_line(m->doc);
    putchar('\n');
    if (m->id_visited_set != m->id)
      printf("  0x%016" PRIx64 "  (also: the literal roam-hash 0.6.0 id of %s)\n",
             m->id_visited_set, m->name);
  }
}

static void print_types(const roam_schema_file *f) {
  if (!f->ndecls) return;
  printf("types (%s)\n", f->path);
  for (size_t i = 0; i < f->ndecls; i++) {
    const roam_schema_decl *d = f->decls[i];
    if (d->kind == ROAM_SCHEMA_STRUCT) {
      printf("  struct %s", d->name);
      print_body(&d->body);
    } else {
      printf("  enum %s {", d->name);
      for (size_t v = 0; v < d->nvariants; v++) {
        printf("%s %s", v ? "," : "", d->variants[v].name);
        print_body(&d->variants[v].body);
      }
      printf(" }");
    }
    putchar('\n');
  }
}

int cmd_list(int argc, char **argv) {
  cli_schemas cs = {0};
  const char *only = NULL;
  int st = EXIT_USAGE;
  bool bad = false;
  for (int i = 1; i < argc && !bad; i++) {
    const char *v = NULL;
    if (cli_opt(argc, argv, &i, "schema", "-s", true, &v, &bad, CMD)) {
      if (v && !cli_schema_add(&cs, v, CMD)) goto out;
    } else if (cli_opt(argc, argv, &i, "help", "-h", false, &v, &bad, CMD)) {
      fputs(cli_help(CMD), stdout);
      st = EXIT_OK;
      goto out;
    } else if (argv[i][0] == '-') {
      cli_error(CMD, "unknown option '%s' (see roam help list)", argv[i]);
      goto out;
    } else if (!only) {
      only = argv[i];
    } else {
      cli_error(CMD, "unexpected argument '%s' (see roam help list)", argv[i]);
      goto out;
    }
  }
  if (bad) goto out;
  if (!cs.count) {
    cli_error(CMD, "give the service definitions with --schema FILE");
    goto out;
  }
  bool found = false;
  for (size_t f = 0; f < roam_schema_file_count(cs.s); f++) {
    const roam_schema_file *file = roam_schema_file_at(cs.s, f);
    bool printed = false;
    for (size_t i = 0; i < file->nservices; i++) {
      if (only && strcmp(file->services[i].name, only) != 0) continue;
      print_service(&file->services[i]);
      printed = found = true;
    }
    if (printed || (!only && file->ndecls)) print_types(file);
  }
  if (only && !found) {
    cli_error(CMD, "no service '%s' in the schema", only);
    goto out;
  }
  st = EXIT_OK;
out:
  cli_schemas_free(&cs);
  return st;
}
