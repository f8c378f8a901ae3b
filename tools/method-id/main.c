/*
 * roam-method-id: print the roam method id of a method described in a small
 * Rust-like text form (also `roam method-id`). See method_id_cli.c and
 * docs/method-id.md.
 *
 *   roam-method-id Testbed echo 'String -> String'
 *   roam-method-id Testbed divide 'i64, i64 -> Result<i64, MathError>'
 */
#include "method_id_cli.h"

int main(int argc, char **argv) { return roam_method_id_cli(argc, argv, "roam-method-id"); }
