#include "cli.h"
int cmd_spy(int argc, char **argv) { (void)argc; (void)argv; cli_error("spy", "not yet"); return EXIT_USAGE; }
