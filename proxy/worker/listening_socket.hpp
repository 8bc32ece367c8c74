// One worker's listening socket for one address and the multishot accept on it. It belongs to
// the address, not to a generation: a reload hands it, accept still armed, to the next
// generation's listener for the same address (WorkerListener::hand_over).
//
// Cancelling the accept and arming a new one on the same socket instead loses connections.
// io_uring's accept waits with EPOLLEXCLUSIVE, so a connection that arrives meanwhile wakes
// one waiter only; when that is the accept being cancelled, it takes nothing, and the new
// accept is never woken for the connection. It stays in the backlog until another one
// arrives, and a lone client waits forever. Worker thread only.
#pragma once

#include "proxy/core/ring.hpp"

namespace sluice::proxy {

class WorkerListener;

class ListeningSocket final : public IoHandler {
 public:
  ListeningSocket(Ring& ring, int fd) : ring_(ring), fd_(fd) {}
  ~ListeningSocket();
  ListeningSocket(const ListeningSocket&) = delete;
  ListeningSocket& operator=(const ListeningSocket&) = delete;

  // Whose sessions its connections start: every completion goes to the owner of the moment,
  // which a listener sets as it takes the socket, before any completion can arrive.
  void set_owner(WorkerListener* owner) { owner_ = owner; }
  // Arms the multishot accept unless it is armed or the socket is closed.
  void arm();
  // The accept ends with -ECANCELED; it counts as armed until that completion arrived.
  void cancel();
  // Cancels the accept and closes the socket.
  void close();
  // Its accept may still complete: the socket must live on.
  bool armed() const { return armed_; }

  void on_completion(unsigned op, int result, unsigned flags) override;

 private:
  Ring& ring_;
  int fd_;
  WorkerListener* owner_ = nullptr;
  bool armed_ = false;
};

}  // namespace sluice::proxy
