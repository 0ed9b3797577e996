// What the shim's translation units share (c10d_shim.cpp: TCPStore, Gloo and the
// collectives; c10d_nccl.cpp: NCCL): the group behind the C ABI's `void*` and the
// exception-to-message guard.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

namespace convkit_c10d {

// A process group: its store, its backend (ProcessGroupGloo or ProcessGroupNCCL) and the
// timeout of every collective.
struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> pg;
  std::chrono::milliseconds timeout;
};

// The rendezvous store: a TCPStore on host:port that rank 0 serves, or, with `agent_prefix`
// (torchrun's TORCHELASTIC_USE_AGENT_STORE), the launcher's own store, every rank a client and
// the group's keys under the prefix (c10d_shim.cpp).
c10::intrusive_ptr<c10d::Store> make_store(const char* host, uint16_t port, int rank, int size,
                                           std::chrono::milliseconds timeout,
                                           const char* agent_prefix);

inline void set_error(char** err, const std::string& message) {
  if (err == nullptr) return;
  *err = static_cast<char*>(std::malloc(message.size() + 1));
  if (*err != nullptr) std::memcpy(*err, message.c_str(), message.size() + 1);
}

// Runs `f`, turning any exception into `*err` and a nonzero return.
template <typename F>
inline int guarded(char** err, F&& f) {
  try {
    f();
    return 0;
  } catch (const c10::Error& e) {
    set_error(err, e.what_without_backtrace());
  } catch (const std::exception& e) {
    set_error(err, e.what());
  } catch (...) {
    set_error(err, "unknown C++ exception in c10d");
  }
  return 1;
}

}  // namespace convkit_c10d
