/*
 * roam-c: the Testbed conformance service: published method ids and the
 * type descriptors they are computed from (reference: spec/spec-proto of
 * bearcove/roam; ids as published in its generated testbed.ts).
 *
 * Channel parameters are declared from the handler's side, as in Rust:
 * sum(numbers: Rx<i32>), generate(count: u32, output: Tx<i32>),
 * transform(input: Rx<String>, output: Tx<String>).
 */
#ifndef ROAM_TESTBED_IDS_H
#define ROAM_TESTBED_IDS_H

#include <stddef.h>
#include <stdint.h>

#include <roam/method_id.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ROAM_TESTBED_SERVICE "Testbed"

#define ROAM_TESTBED_ECHO UINT64_C(0x9aabc4ba61fd5df3)
#define ROAM_TESTBED_REVERSE UINT64_C(0xcba154600f640175)
#define ROAM_TESTBED_DIVIDE UINT64_C(0xc3964cbee4b1d590)
#define ROAM_TESTBED_LOOKUP UINT64_C(0xe71a0faedd014e59)
#define ROAM_TESTBED_SUM UINT64_C(0x855b3a25d97bfefd)
#define ROAM_TESTBED_GENERATE UINT64_C(0x54d2273d8cdb9c38)
#define ROAM_TESTBED_TRANSFORM UINT64_C(0x5d9895604eb18b19)
#define ROAM_TESTBED_ECHO_POINT UINT64_C(0x453fa9bf6932528c)
#define ROAM_TESTBED_CREATE_PERSON UINT64_C(0x3dd231f57b1bca21)
#define ROAM_TESTBED_RECTANGLE_AREA UINT64_C(0xba75c48683f1d9e6)
#define ROAM_TESTBED_PARSE_COLOR UINT64_C(0xe285f31c6dfffbfc)
#define ROAM_TESTBED_SHAPE_AREA UINT64_C(0x6e706354167c00c2)
#define ROAM_TESTBED_CREATE_CANVAS UINT64_C(0xa914982e7d3c7b55)
#define ROAM_TESTBED_PROCESS_MESSAGE UINT64_C(0xed1dc0c625889d30)
#define ROAM_TESTBED_GET_POINTS UINT64_C(0x5c8707f5ae4ccbcc)
#define ROAM_TESTBED_SWAP_PAIR UINT64_C(0xacd19a29fe0d470c)
/* rectangle_area as a peer built from the literal roam-hash 0.6.0 code
 * computes it (second Point field back-referenced); serve both. */
#define ROAM_TESTBED_RECTANGLE_AREA_ALT UINT64_C(0x04ef653fdf0653c4)

/* X-macro over the 16 methods in declaration order:
 * XX(CONST_SUFFIX, rust_fn_name) */
#define ROAM_TESTBED_METHODS(XX)                                               \
  XX(ECHO, echo)                                                               \
  XX(REVERSE, reverse)                                                         \
  XX(DIVIDE, divide)                                                           \
  XX(LOOKUP, lookup)                                                           \
  XX(SUM, sum)                                                                 \
  XX(GENERATE, generate)                                                       \
  XX(TRANSFORM, transform)                                                     \
  XX(ECHO_POINT, echo_point)                                                   \
  XX(CREATE_PERSON, create_person)                                             \
  XX(RECTANGLE_AREA, rectangle_area)                                           \
  XX(PARSE_COLOR, parse_color)                                                 \
  XX(SHAPE_AREA, shape_area)                                                   \
  XX(CREATE_CANVAS, create_canvas)                                             \
  XX(PROCESS_MESSAGE, process_message)                                         \
  XX(GET_POINTS, get_points)                                                   \
  XX(SWAP_PAIR, swap_pair)

/* Index of each method in roam_testbed_methods[]: ROAM_TB_ECHO ... */
typedef enum roam_testbed_index {
#define ROAM__TB_INDEX(C, n) ROAM_TB_##C,
  ROAM_TESTBED_METHODS(ROAM__TB_INDEX)
#undef ROAM__TB_INDEX
  ROAM_TESTBED_METHOD_COUNT
} roam_testbed_index;

/* The 16 method descriptors (service "Testbed"), in the order above. */
ROAM_EXTERN extern const roam_method_desc roam_testbed_methods[ROAM_TESTBED_METHOD_COUNT];
/* The published ids, in the same order. */
ROAM_EXTERN extern const uint64_t roam_testbed_published_ids[ROAM_TESTBED_METHOD_COUNT];

/* Type descriptors of the Testbed types (reusable by tools). */
ROAM_EXTERN extern const roam_type roam_testbed_point, roam_testbed_person,
    roam_testbed_rectangle, roam_testbed_color, roam_testbed_shape, roam_testbed_canvas,
    roam_testbed_message, roam_testbed_math_error, roam_testbed_lookup_error;

/*
 * Compute the 16 ids from the descriptors into ids[] (same order).
 * flags: ROAM_SIG_PUBLISHED gives the published ids; ROAM_SIG_VISITED_SET
 * gives the literal roam-hash 0.6.0 ids (rectangle_area becomes
 * ROAM_TESTBED_RECTANGLE_AREA_ALT, the rest are unchanged).
 */
ROAM_EXTERN int roam_testbed_compute_ids(uint64_t ids[ROAM_TESTBED_METHOD_COUNT], unsigned flags);

/* Index of a method by Rust fn name ("echo_point"), or -1. */
ROAM_EXTERN int roam_testbed_find(const char *method);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_TESTBED_IDS_H */
