// Name -> shared limiter/breaker state that outlives config snapshots. On each reload the control
// thread calls get_or_create(name, options) for every name in the new config: same options ->
// the same object (buckets, breaker state carry over); changed options -> a fresh object. Then
// retain_only(names) forgets names that left the config. Workers keep the shared_ptr they got
// through the snapshot, so an object replaced here lives on until the last snapshot using it goes.
//
// State must be constructible from `const Options&` and expose `const Options& options() const`;
// Options needs operator==. Thread safety: control thread only in practice; internally locked.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace sluice::limiter {

template <class State, class Options>
class StateRegistry {
 public:
  using Factory = std::function<std::shared_ptr<State>(const Options&)>;

  StateRegistry() : factory_([](const Options& o) { return std::make_shared<State>(o); }) {}
  explicit StateRegistry(Factory factory) : factory_(std::move(factory)) {}

  std::shared_ptr<State> get_or_create(const std::string& name, const Options& options) {
    std::lock_guard<std::mutex> guard(mutex_);
    auto& slot = states_[name];
    if (!slot || !(slot->options() == options)) slot = factory_(options);
    return slot;
  }

  std::shared_ptr<State> find(const std::string& name) const {
    std::lock_guard<std::mutex> guard(mutex_);
    auto it = states_.find(name);
    return it == states_.end() ? nullptr : it->second;
  }

  void retain_only(const std::set<std::string>& names) {
    std::lock_guard<std::mutex> guard(mutex_);
    std::erase_if(states_, [&](const auto& kv) { return !names.contains(kv.first); });
  }

  size_t size() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return states_.size();
  }

 private:
  Factory factory_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<State>> states_;
};

}  // namespace sluice::limiter
