/* Error code names and messages, generated from ROAM_ERRNO_MAP. */
#include <roam/common.h>

const char *roam_strerror(int err) {
  switch (err) {
  case ROAM_OK:
    return "success";
#define ROAM__ERR_MSG(name, val, msg) \
  case (val):                         \
    return msg;
    ROAM_ERRNO_MAP(ROAM__ERR_MSG)
#undef ROAM__ERR_MSG
  default:
    return "unknown error";
  }
}

const char *roam_err_name(int err) {
  switch (err) {
  case ROAM_OK:
    return "ROAM_OK";
#define ROAM__ERR_NAME(name, val, msg) \
  case (val):                          \
    return "ROAM_ERR_" #name;
    ROAM_ERRNO_MAP(ROAM__ERR_NAME)
#undef ROAM__ERR_NAME
  default:
    return "ROAM_ERR_UNKNOWN";
  }
}
