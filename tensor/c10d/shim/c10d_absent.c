/* The shim's C ABI when this convkit was built without Gloo's headers (tensor/c10d/build.rs):
 * every call fails with a message that says what to install. Only ck_gloo_new can be reached
 * (no group is ever made), the others keep the ABI whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char* ABSENT =
    "this convkit was built without Gloo's headers, so it cannot join a process group: "
    "install them (Debian/Ubuntu: sudo apt-get install libgloo-dev; scripts/bootstrap.sh does "
    "it) or set GLOO_INCLUDE_DIR to a folder holding gloo/config.h, then rebuild "
    "(cargo build --release; cargo clean -p convkit-c10d if it was built before)";

static int absent(char** err) {
  if (err != NULL) {
    *err = (char*)malloc(strlen(ABSENT) + 1);
    if (*err != NULL) strcpy(*err, ABSENT);
  }
  return 1;
}

void ck_free_error(char* err) { free(err); }
void* ck_gloo_new(const char* host, uint16_t port, int rank, int size, int64_t timeout_ms,
                  const char* iface, const char* agent_prefix, char** err) {
  (void)host; (void)port; (void)rank; (void)size; (void)timeout_ms; (void)iface;
  (void)agent_prefix;
  absent(err);
  return NULL;
}
void ck_group_free(void* group) { (void)group; }
int ck_allreduce_sum(void* group, void** tensors, size_t n, char** err) {
  (void)group; (void)tensors; (void)n;
  return absent(err);
}
int ck_broadcast(void* group, void** tensors, size_t n, int64_t root, char** err) {
  (void)group; (void)tensors; (void)n; (void)root;
  return absent(err);
}
int ck_allgather(void* group, void* input, void** outputs, size_t n, char** err) {
  (void)group; (void)input; (void)outputs; (void)n;
  return absent(err);
}
int ck_barrier(void* group, char** err) {
  (void)group;
  return absent(err);
}
