/*
 * The method-id command line as a function, so that roam-method-id and the
 * `roam method-id` subcommand are one implementation. argv[0] is skipped;
 * progname names the program in messages and the usage text. Returns the
 * exit status (0 ok, 1 the id cannot be computed, 2 usage or parse error).
 */
#ifndef ROAM_METHOD_ID_CLI_H
#define ROAM_METHOD_ID_CLI_H

int roam_method_id_cli(int argc, char **argv, const char *progname);

#endif
