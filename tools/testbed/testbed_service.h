/*
 * roam_testbed: the Testbed conformance service (PROTOCOL.md §13) on code
 * that roam-gen generates from testbed.rs (the definition in the Rust
 * reference's syntax): "testbed.h" holds the types, codecs, client stubs and
 * the handler table; this file registers the handlers, which behave like
 * the Rust reference subject.
 *
 * Thread-safety: the handlers run on the thread that drives the session they
 * serve (like every roam handler).
 */
#ifndef ROAM_TOOLS_TESTBED_SERVICE_H
#define ROAM_TOOLS_TESTBED_SERVICE_H

#include <stddef.h>

#include <roam/testbed_ids.h>

#include "testbed.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Register the sixteen Testbed handlers on d (rectangle_area under both of
 * its ids), and their display names "Testbed.<method>" for diagnostics.
 * Returns 0 or the first roam_dispatcher_add error.
 *
 * Behaviour (the Rust reference subject's): echo; reverse by Unicode scalar
 * value; divide (User(DivisionByZero), User(Overflow) for i64::MIN / -1);
 * lookup (1 Alice, 2 Bob, 3 Charlie, else User(NotFound)); sum of the
 * caller's i32 channel, answered after its Close; generate(count) sends
 * 0..count-1 on the output channel as credit allows; transform sends back
 * every string of its input channel; and the nine methods over richer
 * types. Arguments that do not decode: Err(InvalidPayload). A channel value
 * that does not decode: the session sends Goodbye channeling.data.invalid.
 * A cancelled call resets its input channel and stops its output.
 */
int roam_testbed_register(roam_dispatcher *d);

/* The same through any registration function, e.g. roam_gen_add_server
 * (roam_server_handle, whose wrappers refuse new calls during a graceful
 * shutdown). */
int roam_testbed_register_with(roam_gen_add_fn add, void *ctx);

/* Streaming calls of the Testbed handlers still holding state (all
 * sessions); 0 once every call has completed or been torn down. For
 * tests and leak checks. */
size_t roam_testbed_live_calls(void);

/* Display in the Rust Debug style: "Person { name: \"Bob\", age: 25, email:
 * None }", "Circle { radius: 2 }" (snprintf semantics). */
int roam_testbed_fmt_person(char *buf, size_t cap, const testbed_person *p);
int roam_testbed_fmt_shape(char *buf, size_t cap, const testbed_shape *s);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_TOOLS_TESTBED_SERVICE_H */
