// Times libtorch's operators through RecordFunction, the observer hook the dispatcher calls
// around every c10/ATen operator and the autograd engine around every backward node (what
// torch.profiler and Kineto build on). Each thread keeps a stack of open operators; an
// operator's duration goes to the total when it is outermost on its thread, and, when the
// timer keeps a table, its own time (its duration less its children's) to a per-name table.
// Without the table an operator costs the observer, besides RecordFunction's own work for each
// record, two clock reads and, when outermost, two atomic additions (measured in all about
// 0.3-0.6 us per record by `convkit bench step --profile`).
#include <ATen/record_function.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct Frame {
  int64_t start_ns;
  int64_t children_ns;
};

struct Row {
  int64_t self_ns = 0;
  uint64_t calls = 0;
};

thread_local std::vector<Frame> open_ops;
std::mutex table_mutex;
std::unordered_map<std::string, Row> table;
std::atomic<int64_t> outermost_ns{0};
std::atomic<uint64_t> outermost_calls{0};
std::atomic<bool> running{false};
std::atomic<bool> keep_table{false};
// The registered callback; one timer at a time (`running`), owned by one Rust `OpTimer`.
at::CallbackHandle handle = 0;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<at::ObserverContext> on_enter(const at::RecordFunction&) {
  open_ops.push_back(Frame{now_ns(), 0});
  return nullptr;
}

void on_exit(const at::RecordFunction& fn, at::ObserverContext*) {
  // An operator that began before this thread's first frame (the timer started inside it).
  if (open_ops.empty()) return;
  Frame f = open_ops.back();
  open_ops.pop_back();
  int64_t took = now_ns() - f.start_ns;
  if (!open_ops.empty()) {
    open_ops.back().children_ns += took;
  } else {
    outermost_ns.fetch_add(took, std::memory_order_relaxed);
    outermost_calls.fetch_add(1, std::memory_order_relaxed);
  }
  if (!keep_table.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(table_mutex);
  if (!running.load()) return;
  Row& r = table[fn.name()];
  r.self_ns += took - f.children_ns;
  r.calls += 1;
}

char* copy_message(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

}  // namespace

extern "C" {

// 0: started; 1: a timer already runs; 2: libtorch refused (message in *err). `with_table`:
// also keep every operator's own time.
int ck_op_timer_start(int with_table, char** err) {
  bool expected = false;
  if (!running.compare_exchange_strong(expected, true)) return 1;
  try {
    {
      std::lock_guard<std::mutex> lock(table_mutex);
      table.clear();
      outermost_ns.store(0);
      outermost_calls.store(0);
      keep_table.store(with_table != 0);
    }
    handle = at::addGlobalCallback(
        at::RecordFunctionCallback(on_enter, on_exit)
            .needsInputs(false)
            .needsOutputs(false)
            .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
    return 0;
  } catch (const std::exception& e) {
    running.store(false);
    *err = copy_message(e.what());
    return 2;
  }
}

// Stops the timer: the outermost operators' total and count, and the table as malloc'd text,
// one "name\tself_ns\tcalls" line per operator. 0: stopped; 1: no timer ran; 2: libtorch
// threw while removing the callback or the table could not be written.
int ck_op_timer_stop(int64_t* total_ns, uint64_t* calls, char** rows) {
  if (!running.load()) return 1;
  try {
    at::removeCallback(handle);
    std::lock_guard<std::mutex> lock(table_mutex);
    running.store(false);
    *total_ns = outermost_ns.load();
    *calls = outermost_calls.load();
    std::ostringstream text;
    for (const auto& [name, row] : table) {
      // A name is one line of the text (a user's record_function label may hold newlines).
      std::string one_line = name;
      for (char& c : one_line) {
        if (c == '\n' || c == '\r') c = ' ';
      }
      text << one_line << '\t' << row.self_ns << '\t' << row.calls << '\n';
    }
    *rows = copy_message(text.str());
    return 0;
  } catch (...) {
    // No exception may cross into Rust; the timer is stopped either way.
    running.store(false);
    return 2;
  }
}

void ck_op_timer_free(char* text) { std::free(text); }

}  // extern "C"
