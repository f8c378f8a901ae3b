/*
 * roam: one command-line tool to call, list, spy on and load-test roam
 * services (docs/cli.md).
 *
 *   roam call ADDR Service.method [ARGS] --schema FILE...
 *   roam list --schema FILE... [Service]
 *   roam spy LISTEN TARGET [--schema FILE...] [--json]
 *   roam bench ADDR Service.method [ARGS] --schema FILE... [-c N] [-p N] [-d S | -n N]
 *   roam method-id SERVICE METHOD SIGNATURE
 *   roam help [SUBCOMMAND]
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "method_id_cli.h"

static const char HELP[] =
    "usage: roam SUBCOMMAND [ARGS...]\n"
    "\n"
    "  call       call a method with JSON arguments, print the result as JSON\n"
    "  list       services, methods (signatures and ids) and types of a schema\n"
    "  spy        a forwarding proxy that prints every message in both directions\n"
    "  bench      a load test: calls/s, errors, latency percentiles\n"
    "  method-id  the method id of a signature written in text (as roam-method-id)\n"
    "  help       this text, or `roam help SUBCOMMAND`\n"
    "\n"
    "A schema is a service definition in Rust syntax (the file the Rust\n"
    "reference's #[service] trait is in), e.g. tools/testbed/testbed.rs.\n"
    "Addresses: tcp://host:port, host:port, [::1]:port, unix:/path, unix:@name.\n"
    "Exit status: 0 ok, 1 usage, schema or JSON error, 2 roam or transport error,\n"
    "3 the method returned its own error (roam call).\n";

static const char HELP_CALL[] =
    "usage: roam call ADDR Service.method [ARGS] --schema FILE... [options]\n"
    "       roam call --raw ADDR METHOD [HEX] [options]\n"
    "\n"
    "Calls one method and prints its result as one line of JSON (serde_json's\n"
    "conventions: structs as objects, tuples as arrays, Option as null or the\n"
    "value, enums externally tagged, Vec<u8> as an array of numbers, maps as\n"
    "objects; 64- and 128-bit integers exact).\n"
    "\n"
    "ARGS is a JSON array in parameter order or an object by parameter name\n"
    "(default []). Channels: a parameter Rx<T> (the callee reads it) takes a\n"
    "JSON array of values, or \"-\" to stream values from standard input, one\n"
    "JSON value per line; a parameter Tx<T> (the callee writes it) is left out\n"
    "(or null) and each value arriving on it is printed as one JSON line, as it\n"
    "arrives, before the result.\n"
    "\n"
    "options:\n"
    "  -s, --schema FILE      a service definition (repeatable)\n"
    "  -t, --timeout SECS     bound the connect and the call (default: none for\n"
    "                         the call, 10 s to connect)\n"
    "  -m, --metadata K=V     a metadata entry (string value) on the request\n"
    "                         (repeatable)\n"
    "      --connection       open a virtual connection first and call on it\n"
    "      --raw              no schema: METHOD is a method id (0x... or decimal)\n"
    "                         or Service.method resolved with --schema; HEX is the\n"
    "                         postcard payload; the reply value is printed in hex\n"
    "\n"
    "exit status: 0 Ok; 3 the method's own error (printed as JSON on stdout);\n"
    "2 a roam or transport error (UnknownMethod, InvalidPayload, Cancelled,\n"
    "connection refused, timeout, malformed reply); 1 usage, schema or JSON error.\n"
    "\n"
    "examples:\n"
    "  roam call 127.0.0.1:9000 Testbed.echo '[\"hi\"]' -s testbed.rs\n"
    "  roam call 127.0.0.1:9000 Testbed.divide '{\"dividend\":7,\"divisor\":0}' -s testbed.rs\n"
    "  roam call 127.0.0.1:9000 Testbed.sum '[[1,2,3]]' -s testbed.rs\n"
    "  seq 5 | roam call 127.0.0.1:9000 Testbed.sum '[\"-\"]' -s testbed.rs\n"
    "  roam call 127.0.0.1:9000 Testbed.generate '[3]' -s testbed.rs\n"
    "  roam call --raw 127.0.0.1:9000 0x9aabc4ba61fd5df3 026869\n";

static const char HELP_LIST[] =
    "usage: roam list --schema FILE... [Service]\n"
    "\n"
    "Prints each service of the definitions (or only Service): its methods with\n"
    "their method ids and Rust signatures, then the types each file declares.\n";

static const char HELP_SPY[] =
    "usage: roam spy LISTEN TARGET [--schema FILE...] [--json] [--count N]\n"
    "\n"
    "Listens on LISTEN; every link accepted there is forwarded to TARGET, byte\n"
    "for byte in both directions, and every roam message crossing it is printed\n"
    "with a timestamp, the link number and the direction (c>s: from the side that\n"
    "connected to the spy; s>c: from TARGET): its kind, ids, the method name and,\n"
    "with a schema, the arguments, results and channel values as JSON. Bytes that\n"
    "do not decode are printed as undecodable and forwarded anyway.\n"
    "\n"
    "options:\n"
    "  -s, --schema FILE   decode payloads with these definitions (repeatable)\n"
    "      --json          one JSON object per message instead of text\n"
    "      --count N       exit after N links have come and gone (default: run\n"
    "                      until SIGINT/SIGTERM)\n"
    "Byte-stream links only (tcp, unix).\n";

static const char HELP_BENCH[] =
    "usage: roam bench ADDR Service.method [ARGS] --schema FILE... [options]\n"
    "       roam bench --raw ADDR METHOD [HEX] [options]\n"
    "\n"
    "Calls one method over and over and measures it: calls/s, errors, and\n"
    "latency percentiles (p50, p90, p99, p99.9, max) from a histogram of every\n"
    "call. With stderr a terminal, a progress line shows calls/s, errors and the\n"
    "running p99 each second. Methods with channels are not supported.\n"
    "\n"
    "options:\n"
    "  -s, --schema FILE    a service definition (repeatable)\n"
    "  -c, --links N        links (connections) to open (default 1)\n"
    "  -p, --inflight N     calls in flight per link (default 1)\n"
    "  -d, --duration SECS  run this long (default 5)\n"
    "  -n, --calls N        make exactly N calls instead\n"
    "  -t, --timeout SECS   per-call timeout (default none: a timer per call\n"
    "                       costs a little throughput)\n"
    "  -m, --metadata K=V   a metadata entry on each request (repeatable)\n"
    "      --warmup SECS    calls before measuring, not counted (default 0)\n"
    "      --json FILE      also write the figures as JSON (- = stdout)\n"
    "      --raw            as for roam call\n"
    "\n"
    "exit status: 0 when every call succeeded, 2 when some failed (the figures\n"
    "are printed anyway) or the links could not be opened, 1 usage error.\n";

static const char HELP_METHOD_ID[] =
    "usage: roam method-id [options] SERVICE METHOD SIGNATURE\n"
    "       roam method-id --testbed [--literal]\n"
    "\n"
    "The method id of a signature written in a small Rust-like text form; the\n"
    "same program as roam-method-id (see `roam method-id --help` for the\n"
    "grammar and docs/method-id.md). Exit status 0 ok, 1 the id cannot be\n"
    "computed, 2 usage or parse error.\n";

const char *cli_help(const char *cmd) {
  if (!cmd) return HELP;
  if (!strcmp(cmd, "call")) return HELP_CALL;
  if (!strcmp(cmd, "list")) return HELP_LIST;
  if (!strcmp(cmd, "spy")) return HELP_SPY;
  if (!strcmp(cmd, "bench")) return HELP_BENCH;
  if (!strcmp(cmd, "method-id")) return HELP_METHOD_ID;
  if (!strcmp(cmd, "help")) return HELP;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(HELP, stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    if (argc > 3) {
      fprintf(stderr, "roam help: expected at most one SUBCOMMAND\n");
      return EXIT_USAGE;
    }
    const char *h = cli_help(argc == 3 ? argv[2] : NULL);
    if (!h) {
      fprintf(stderr, "roam help: unknown subcommand '%s'\n%s", argv[2], HELP);
      return EXIT_USAGE;
    }
    fputs(h, stdout);
    return EXIT_OK;
  }
  if (!strcmp(cmd, "call")) return cmd_call(argc - 1, argv + 1);
  if (!strcmp(cmd, "list")) return cmd_list(argc - 1, argv + 1);
  if (!strcmp(cmd, "spy")) return cmd_spy(argc - 1, argv + 1);
  if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
  if (!strcmp(cmd, "method-id")) return roam_method_id_cli(argc - 1, argv + 1, "roam method-id");
  fprintf(stderr, "roam: unknown subcommand '%s'\n%s", cmd, HELP);
  return EXIT_USAGE;
}
