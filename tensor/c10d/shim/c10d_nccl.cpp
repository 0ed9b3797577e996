// NCCL's process group for the shim's C ABI (compiled only against a CUDA libtorch with
// NCCL's and CUDA's headers; tensor/c10d/build.rs). The group runs the collectives of
// c10d_shim.cpp, on CUDA tensors.
#include <cstdlib>

#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include "c10d_group.hpp"

extern "C" {

// A NCCL process group of `size` ranks meeting at the store on host:port (as ck_gloo_new),
// this rank on CUDA device `device`. Collectives block the calling thread until they finish
// or `timeout_ms` passes (TORCH_NCCL_BLOCKING_WAIT=1 unless the user set it), so a lost peer
// is an error rather than the watchdog ending the process.
void* ck_nccl_new(const char* host, uint16_t port, int rank, int size, int64_t timeout_ms,
                  const char* agent_prefix, int device, char** err) {
  convkit_c10d::Group* group = nullptr;
  convkit_c10d::guarded(err, [&] {
    setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));
    auto store = convkit_c10d::make_store(host, port, rank, size, timeout, agent_prefix);
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
    group = new convkit_c10d::Group{store, pg, timeout};
  });
  return group;
}

}  // extern "C"
