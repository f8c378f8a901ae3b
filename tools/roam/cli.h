/*
 * Shared pieces of the `roam` command-line tool: exit statuses, option
 * parsing, schema loading and method lookup, argument binding.
 */
#ifndef ROAM_CLI_H
#define ROAM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <roam/message.h>

#include "schema.h"

/* Exit statuses (docs/cli.md). */
enum {
  EXIT_OK = 0,
  EXIT_USAGE = 1, /* usage, schema or JSON error */
  EXIT_ROAM = 2,  /* a roam or transport error */
  EXIT_USER = 3   /* the method's own error */
};

/* Subcommands: argv[0] is the subcommand name. */
int cmd_call(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_spy(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/* The help text of a subcommand (NULL if unknown). */
const char *cli_help(const char *cmd);

/* Print "roam CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Option parsing: whether argv[*i] is option `name` (long "--name" or short
 * "-x" given as name); when it takes a value, *val gets it ("--name=V" or
 * the next argument; *i advances). A missing value is reported and *bad
 * set. */
bool cli_opt(int argc, char **argv, int *i, const char *name, const char *alias, bool takes_value,
             const char **val, bool *bad, const char *cmd);

/* Parse numbers given on the command line; false on junk. */
bool cli_parse_u64(const char *s, uint64_t *out); /* decimal or 0x hex */
bool cli_parse_seconds(const char *s, uint64_t *ms);

/* Schemas given with --schema (kept in order). */
typedef struct cli_schemas {
  roam_schema *s;
  size_t count;
} cli_schemas;

/* Parse one more definition file; false (message printed) on error. */
bool cli_schema_add(cli_schemas *cs, const char *path, const char *cmd);
void cli_schemas_free(cli_schemas *cs);

/* Find "Service.method" (NULL with a message listing what exists). */
const roam_schema_method *cli_find_method(const cli_schemas *cs, const char *name,
                                          const char *cmd);
/* Find a method by id (NULL if none). */
const roam_schema_method *cli_method_by_id(const cli_schemas *cs, uint64_t id);

/* "name: Type, ..." of a method's parameters into buf. */
void cli_params_str(const roam_schema_method *m, char *buf, size_t cap);

/* --metadata key=value entries (string values). */
typedef struct cli_meta {
  roam_meta_entry e[ROAM_META_MAX_ENTRIES];
  size_t n;
} cli_meta;
bool cli_meta_add(cli_meta *md, const char *kv, const char *cmd);

/*
 * Bind JSON arguments (an array in parameter order or an object by name) to
 * a method's parameters: per[i] (borrowed from args) is the value of
 * parameter i, NULL for a Tx parameter (values the callee sends; the caller
 * gives nothing, or null, for it). A parameter of type Rx<T> (values the
 * caller sends) takes an array of T or the string "-" (standard input).
 * Returns true, or false with a message in err.
 */
bool cli_bind_args(const roam_schema_method *m, json_t *args, json_t **per, char *err,
                   size_t errcap);

/* Whether a method has channel parameters. */
bool cli_method_has_channels(const roam_schema_method *m);

/* Encode the argument tuple: values for plain parameters, chan_ids[i] for
 * channel parameter i (ids may be 0 for a dry run). 0 or -1 with err. */
int cli_encode_args(const roam_schema_method *m, json_t **per, const uint64_t *chan_ids,
                    roam_enc *e, char *err, size_t errcap);

/* Hex helpers: parse (whitespace allowed) into a malloc'd buffer; print. */
bool cli_hex_decode(const char *s, uint8_t **out, size_t *len);
void cli_hex_print(const uint8_t *p, size_t n);

#endif
