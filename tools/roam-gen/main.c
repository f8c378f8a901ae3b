/*
 * roam-gen: typed C from roam service definitions written in Rust syntax.
 *
 *   roam-gen --list FILE...       one line per method, in declaration order:
 *                                 "Service.method 0x<16 hex digits>"
 *   roam-gen -o DIR FILE...       write DIR/NAME.h and DIR/NAME.c for each
 *                                 FILE (NAME = the file's stem)
 *
 * Errors go to stderr as "file:line:column: message"; the exit status is
 * then 1 (2 for a usage error).
 */
#include <stdio.h>
#include <string.h>

#include "gen.h"
#include "schema.h"

static int usage(void) {
  fprintf(stderr,
          "usage: roam-gen --list FILE...\n"
          "       roam-gen -o DIR FILE...\n"
          "Generate typed C (DIR/NAME.h, DIR/NAME.c) from roam service definitions\n"
          "written in Rust syntax (#[service] traits, structs, enums).\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *outdir = NULL;
  bool list = false;
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--list") == 0) {
      list = true;
    } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
      outdir = argv[++i];
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage();
      return 0;
    } else if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "roam-gen: unknown option %s\n", argv[i]);
      return usage();
    } else {
      break;
    }
  }
  if (i >= argc || list == (outdir != NULL))
    return usage();

  roam_schema *s;
  if (roam_schema_new(&s) != 0) {
    fprintf(stderr, "roam-gen: out of memory\n");
    return 1;
  }
  int status = 0;
  for (; i < argc && status == 0; i++) {
    if (roam_schema_parse_file(s, argv[i]) != 0) {
      fprintf(stderr, "%s\n", roam_schema_error(s));
      status = 1;
    }
  }
  for (size_t f = 0; status == 0 && f < roam_schema_file_count(s); f++) {
    const roam_schema_file *file = roam_schema_file_at(s, f);
    if (list) {
      for (size_t k = 0; k < file->nservices; k++)
        for (size_t m = 0; m < file->services[k].nmethods; m++)
          printf("%s.%s 0x%016llx\n", file->services[k].name, file->services[k].methods[m].name,
                 (unsigned long long)file->services[k].methods[m].id);
    } else if (roam_gen_write(file, outdir) != 0) {
      status = 1;
    }
  }
  if (list && fflush(stdout) != 0) {
    perror("roam-gen: stdout");
    status = 1;
  }
  roam_schema_free(s);
  return status;
}
