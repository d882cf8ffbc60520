// services/work_queue.h — a few threads for blocking work (fsync, file reads, outbound HTTP) that a
// handler must not do on an I/O thread; `RunBlocking` awaits one job's result from a coroutine.
//
// Stop() finishes the jobs already queued and joins the threads; jobs posted afterwards are run on
// the caller's thread, so every waiting coroutine is resumed. Services stop their queues after the
// server has stopped serving and before they destroy it (see await_callback.h).
//
// Thread safety: Post and Stop may be called from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "openpcc/services/await_callback.h"

namespace openpcc::services {

class WorkQueue {
 public:
  explicit WorkQueue(size_t threads) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~WorkQueue() { Stop(); }
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Post(std::function<void()> job) {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        jobs_.push_back(std::move(job));
        cv_.notify_one();
        return;
      }
    }
    job();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void Run() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Runs `job` on `queue` and resumes the calling coroutine with its result.
template <typename T>
net::Awaitable<T> RunBlocking(WorkQueue& queue, std::function<T()> job) {
  return AwaitCallback<T>([&queue, job = std::move(job)](std::function<void(T)> done) {
    queue.Post([job, done] { done(job()); });
  });
}

}  // namespace openpcc::services
