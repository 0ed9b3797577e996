// convkit's C ABI over libtorch's c10d (TCPStore, ProcessGroupGloo; NCCL's group is made in
// c10d_nccl.cpp and runs the same collectives): the few calls the Rust
// `ProcessGroup` makes. Every libtorch exception is caught here and returned as a message
// (`*err`, malloc'd; the caller frees it with ck_free_error), never thrown across the ABI.
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <string>
#include <vector>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "c10d_group.hpp"

namespace {

using convkit_c10d::Group;
using convkit_c10d::guarded;
using convkit_c10d::set_error;

std::vector<at::Tensor> tensors_of(at::Tensor** tensors, size_t n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(*tensors[i]);
  return out;
}

void wait(const c10::intrusive_ptr<c10d::Work>& work, std::chrono::milliseconds timeout) {
  if (!work->wait(timeout)) throw std::runtime_error("the collective did not complete in time");
}

}  // namespace

namespace convkit_c10d {

c10::intrusive_ptr<c10d::Store> make_store(const char* host, uint16_t port, int rank, int size,
                                           std::chrono::milliseconds timeout,
                                           const char* agent_prefix) {
  bool agent = agent_prefix != nullptr && agent_prefix[0] != '\0';
  c10d::TCPStoreOptions opts;
  opts.port = port;
  opts.isServer = rank == 0 && !agent;
  opts.numWorkers = static_cast<size_t>(size);
  opts.waitWorkers = !agent;
  opts.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store =
      c10::make_intrusive<c10d::TCPStore>(std::string(host), opts);
  if (agent) store = c10::make_intrusive<c10d::PrefixStore>(std::string(agent_prefix), store);
  return store;
}

}  // namespace convkit_c10d

extern "C" {

void ck_free_error(char* err) { std::free(err); }

// A Gloo process group of `size` ranks meeting at the TCPStore on host:port (rank 0 serves
// it); `timeout_ms` bounds the rendezvous and every collective. Gloo's own connections go
// through the interface `iface` when given (GLOO_SOCKET_IFNAME), the loopback when the
// store is on it, else the address this machine's hostname resolves to (PyTorch's rule).
// With `agent_prefix` (torchrun's TORCHELASTIC_USE_AGENT_STORE), torchrun's agent already
// serves the store: every rank connects as a client and keys go under the prefix, as
// torch.distributed's env:// rendezvous does.
void* ck_gloo_new(const char* host, uint16_t port, int rank, int size, int64_t timeout_ms,
                  const char* iface, const char* agent_prefix, char** err) {
  Group* group = nullptr;
  guarded(err, [&] {
    auto timeout = std::chrono::milliseconds(timeout_ms);
    auto store = convkit_c10d::make_store(host, port, rank, size, timeout, agent_prefix);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    std::string h(host);
    if (iface != nullptr && iface[0] != '\0') {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
    } else if (h == "127.0.0.1" || h == "localhost" || h == "::1") {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(h));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
    group = new Group{store, pg, timeout};
  });
  return group;
}

void ck_group_free(void* group) { delete static_cast<Group*>(group); }

// Sums `n` tensors in place across ranks (one coalesced call when they share a dtype and
// are dense, else one call each).
int ck_allreduce_sum(void* group, at::Tensor** tensors, size_t n, char** err) {
  auto* g = static_cast<Group*>(group);
  return guarded(err, [&] {
    auto list = tensors_of(tensors, n);
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    opts.timeout = g->timeout;
    bool same = !list.empty();
    for (auto& t : list) same = same && t.scalar_type() == list[0].scalar_type() && t.is_contiguous();
    if (list.size() > 1 && same) {
      c10d::AllreduceCoalescedOptions copts;
      copts.reduceOp = c10d::ReduceOp::SUM;
      copts.timeout = g->timeout;
      wait(g->pg->allreduce_coalesced(list, copts), g->timeout);
    } else {
      for (auto& t : list) {
        std::vector<at::Tensor> one{t};
        wait(g->pg->allreduce(one, opts), g->timeout);
      }
    }
  });
}

// Copies rank `root`'s tensors into every rank's, in place.
int ck_broadcast(void* group, at::Tensor** tensors, size_t n, int64_t root, char** err) {
  auto* g = static_cast<Group*>(group);
  return guarded(err, [&] {
    for (size_t i = 0; i < n; ++i) {
      std::vector<at::Tensor> one{*tensors[i]};
      c10d::BroadcastOptions opts;
      opts.rootRank = root;
      opts.timeout = g->timeout;
      wait(g->pg->broadcast(one, opts), g->timeout);
    }
  });
}

// Every rank's `input` into `outputs[r]` (one tensor of the input's shape per rank).
int ck_allgather(void* group, at::Tensor* input, at::Tensor** outputs, size_t n, char** err) {
  auto* g = static_cast<Group*>(group);
  return guarded(err, [&] {
    std::vector<std::vector<at::Tensor>> out{tensors_of(outputs, n)};
    std::vector<at::Tensor> in{*input};
    c10d::AllgatherOptions opts;
    opts.timeout = g->timeout;
    wait(g->pg->allgather(out, in, opts), g->timeout);
  });
}

int ck_barrier(void* group, char** err) {
  auto* g = static_cast<Group*>(group);
  return guarded(err, [&] {
    c10d::BarrierOptions opts;
    opts.timeout = g->timeout;
    wait(g->pg->barrier(opts), g->timeout);
  });
}

int ck_rank(void* group) { return static_cast<Group*>(group)->pg->getRank(); }
int ck_size(void* group) { return static_cast<Group*>(group)->pg->getSize(); }

}  // extern "C"
