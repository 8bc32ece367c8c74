// Intrusive deadline lists. All nodes of one list share one timeout, so
// appending on (re)start keeps the list sorted by deadline: expired nodes are
// always at the head and a sweep costs O(expired). A session embeds one
// TimerNode per kind of deadline it has (idle, request, header read).
// Owned by one worker thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace sluice::proxy {

class TimerOwner {
 public:
  virtual void on_timer(int kind) = 0;

 protected:
  ~TimerOwner() = default;
};

struct TimerNode {
  TimerNode(TimerOwner* owner, int kind) : owner(owner), kind(kind) {}
  TimerOwner* const owner;
  const int kind;

 private:
  friend class TimerList;
  TimerNode* prev_ = nullptr;
  TimerNode* next_ = nullptr;
  class TimerList* list_ = nullptr;
  uint64_t start_ms_ = 0;
};

class TimerList {
 public:
  explicit TimerList(uint64_t timeout_ms) : timeout_ms_(timeout_ms) {}
  TimerList(const TimerList&) = delete;
  TimerList& operator=(const TimerList&) = delete;

  uint64_t timeout_ms() const { return timeout_ms_; }

  // (Re)starts the node's countdown; it may have been on another list.
  void start(TimerNode& node, uint64_t now_ms) {
    if (node.list_ == this && node.start_ms_ == now_ms) return;  // cheap on busy connections
    stop(node);
    node.start_ms_ = now_ms;
    node.prev_ = tail_;
    node.next_ = nullptr;
    (tail_ ? tail_->next_ : head_) = &node;
    tail_ = &node;
    node.list_ = this;
    ++size_;
  }

  static void stop(TimerNode& node) {
    TimerList* list = node.list_;
    if (list == nullptr) return;
    (node.prev_ ? node.prev_->next_ : list->head_) = node.next_;
    (node.next_ ? node.next_->prev_ : list->tail_) = node.prev_;
    node.list_ = nullptr;
    --list->size_;
  }

  static bool running(const TimerNode& node) { return node.list_ != nullptr; }

  // Stops every expired node, then tells its owner.
  void expire(uint64_t now_ms) {
    while (head_ != nullptr && now_ms - head_->start_ms_ >= timeout_ms_) {
      TimerNode& node = *head_;
      stop(node);
      node.owner->on_timer(node.kind);
    }
  }

  // Calls fn(node) on every node; fn may stop the node it is given.
  template <typename Fn>
  void for_each(Fn&& fn) {
    for (TimerNode* n = head_; n != nullptr;) {
      TimerNode* next = n->next_;
      fn(*n);
      n = next;
    }
  }

  size_t size() const { return size_; }

 private:
  TimerNode* head_ = nullptr;
  TimerNode* tail_ = nullptr;
  uint64_t timeout_ms_;
  size_t size_ = 0;
};

// Every deadline list of one worker, one per distinct timeout value (a
// handful: the configured idle, request and connect timeouts and a few fixed
// ones), so each list stays sorted by construction.
class TimerLists {
 public:
  // The list for `timeout_ms`, created on first use.
  TimerList& get(uint64_t timeout_ms) {
    for (auto& list : lists_)
      if (list->timeout_ms() == timeout_ms) return *list;
    lists_.push_back(std::make_unique<TimerList>(timeout_ms));
    return *lists_.back();
  }
  void expire(uint64_t now_ms) {
    for (auto& list : lists_) list->expire(now_ms);
  }

 private:
  std::vector<std::unique_ptr<TimerList>> lists_;
};

}  // namespace sluice::proxy
