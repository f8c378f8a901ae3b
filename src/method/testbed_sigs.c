/* Testbed type and method descriptors (spec/spec-proto of the reference). */
#include <string.h>

#include <roam/testbed_ids.h>

/* struct Point { x: i32, y: i32 } */
const roam_type roam_testbed_point =
    ROAM_STRUCT("Point", ROAM_FIELD("x", &roam_type_i32), ROAM_FIELD("y", &roam_type_i32));

static const roam_type option_string = ROAM_OPTION(&roam_type_string);

/* struct Person { name: String, age: u8, email: Option<String> } */
const roam_type roam_testbed_person =
    ROAM_STRUCT("Person", ROAM_FIELD("name", &roam_type_string), ROAM_FIELD("age", &roam_type_u8),
                ROAM_FIELD("email", &option_string));

/* struct Rectangle { top_left: Point, bottom_right: Point, label: Option<String> } */
const roam_type roam_testbed_rectangle =
    ROAM_STRUCT("Rectangle", ROAM_FIELD("top_left", &roam_testbed_point),
                ROAM_FIELD("bottom_right", &roam_testbed_point),
                ROAM_FIELD("label", &option_string));

/* enum Color { Red, Green, Blue } */
const roam_type roam_testbed_color =
    ROAM_ENUM("Color", ROAM_VARIANT_UNIT("Red"), ROAM_VARIANT_UNIT("Green"),
              ROAM_VARIANT_UNIT("Blue"));

/* enum Shape { Circle { radius: f64 }, Rectangle { width: f64, height: f64 }, Point } */
const roam_type roam_testbed_shape = ROAM_ENUM(
    "Shape", ROAM_VARIANT_STRUCT("Circle", ROAM_FIELD("radius", &roam_type_f64)),
    ROAM_VARIANT_STRUCT("Rectangle", ROAM_FIELD("width", &roam_type_f64),
                        ROAM_FIELD("height", &roam_type_f64)),
    ROAM_VARIANT_UNIT("Point"));

static const roam_type shape_list = ROAM_LIST(&roam_testbed_shape);

/* struct Canvas { name: String, shapes: Vec<Shape>, background: Color } */
const roam_type roam_testbed_canvas =
    ROAM_STRUCT("Canvas", ROAM_FIELD("name", &roam_type_string), ROAM_FIELD("shapes", &shape_list),
                ROAM_FIELD("background", &roam_testbed_color));

/* enum Message { Text(String), Number(i64), Data(Vec<u8>) } */
const roam_type roam_testbed_message =
    ROAM_ENUM("Message", ROAM_VARIANT_NEWTYPE("Text", &roam_type_string),
              ROAM_VARIANT_NEWTYPE("Number", &roam_type_i64),
              ROAM_VARIANT_NEWTYPE("Data", &roam_type_bytes));

/* enum MathError { DivisionByZero, Overflow } */
const roam_type roam_testbed_math_error = ROAM_ENUM(
    "MathError", ROAM_VARIANT_UNIT("DivisionByZero"), ROAM_VARIANT_UNIT("Overflow"));

/* enum LookupError { NotFound, AccessDenied } */
const roam_type roam_testbed_lookup_error = ROAM_ENUM(
    "LookupError", ROAM_VARIANT_UNIT("NotFound"), ROAM_VARIANT_UNIT("AccessDenied"));

static const roam_type result_i64_math = ROAM_RESULT(&roam_type_i64, &roam_testbed_math_error);
static const roam_type result_person_lookup =
    ROAM_RESULT(&roam_testbed_person, &roam_testbed_lookup_error);
static const roam_type rx_i32 = ROAM_RX(&roam_type_i32);
static const roam_type tx_i32 = ROAM_TX(&roam_type_i32);
static const roam_type rx_string = ROAM_RX(&roam_type_string);
static const roam_type tx_string = ROAM_TX(&roam_type_string);
static const roam_type option_color = ROAM_OPTION(&roam_testbed_color);
static const roam_type point_list = ROAM_LIST(&roam_testbed_point);
static const roam_type pair_i32_string = ROAM_TUPLE(&roam_type_i32, &roam_type_string);
static const roam_type pair_string_i32 = ROAM_TUPLE(&roam_type_string, &roam_type_i32);

#define ARGS(...) (const roam_type *const[]){__VA_ARGS__}
#define NAMES(...) (const char *const[]){__VA_ARGS__}
#define METHOD(fn, args, names, ret)                                               \
  {ROAM_TESTBED_SERVICE, #fn, args, names, sizeof(args) / sizeof(const roam_type *), ret}
#define METHOD0(fn, ret) {ROAM_TESTBED_SERVICE, #fn, NULL, NULL, 0, ret}

const roam_method_desc roam_testbed_methods[ROAM_TESTBED_METHOD_COUNT] = {
    METHOD(echo, ARGS(&roam_type_string), NAMES("message"), &roam_type_string),
    METHOD(reverse, ARGS(&roam_type_string), NAMES("message"), &roam_type_string),
    METHOD(divide, ARGS(&roam_type_i64, &roam_type_i64), NAMES("dividend", "divisor"),
           &result_i64_math),
    METHOD(lookup, ARGS(&roam_type_u32), NAMES("id"), &result_person_lookup),
    METHOD(sum, ARGS(&rx_i32), NAMES("numbers"), &roam_type_i64),
    METHOD(generate, ARGS(&roam_type_u32, &tx_i32), NAMES("count", "output"), NULL),
    METHOD(transform, ARGS(&rx_string, &tx_string), NAMES("input", "output"), NULL),
    METHOD(echo_point, ARGS(&roam_testbed_point), NAMES("point"), &roam_testbed_point),
    METHOD(create_person, ARGS(&roam_type_string, &roam_type_u8, &option_string),
           NAMES("name", "age", "email"), &roam_testbed_person),
    METHOD(rectangle_area, ARGS(&roam_testbed_rectangle), NAMES("rect"), &roam_type_f64),
    METHOD(parse_color, ARGS(&roam_type_string), NAMES("name"), &option_color),
    METHOD(shape_area, ARGS(&roam_testbed_shape), NAMES("shape"), &roam_type_f64),
    METHOD(create_canvas, ARGS(&roam_type_string, &shape_list, &roam_testbed_color),
           NAMES("name", "shapes", "background"), &roam_testbed_canvas),
    METHOD(process_message, ARGS(&roam_testbed_message), NAMES("msg"), &roam_testbed_message),
    METHOD(get_points, ARGS(&roam_type_u32), NAMES("count"), &point_list),
    METHOD(swap_pair, ARGS(&pair_i32_string), NAMES("pair"), &pair_string_i32),
};

const uint64_t roam_testbed_published_ids[ROAM_TESTBED_METHOD_COUNT] = {
#define ROAM__TB_ID(C, n) ROAM_TESTBED_##C,
    ROAM_TESTBED_METHODS(ROAM__TB_ID)
#undef ROAM__TB_ID
};

int roam_testbed_compute_ids(uint64_t ids[ROAM_TESTBED_METHOD_COUNT], unsigned flags) {
  if (!ids) return ROAM_ERR_INVALID_ARG;
  for (size_t i = 0; i < ROAM_TESTBED_METHOD_COUNT; i++) {
    int rc = roam_method_desc_id(&roam_testbed_methods[i], flags, &ids[i]);
    if (rc) return rc;
  }
  return ROAM_OK;
}

int roam_testbed_find(const char *method) {
  if (!method) return -1;
  for (size_t i = 0; i < ROAM_TESTBED_METHOD_COUNT; i++)
    if (strcmp(roam_testbed_methods[i].method, method) == 0) return (int)i;
  return -1;
}
