#include "cli.h"
int cmd_bench(int argc, char **argv) { (void)argc; (void)argv; cli_error("bench", "not yet"); return EXIT_USAGE; }
