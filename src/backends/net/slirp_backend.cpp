#include "backends/net/slirp_backend.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/unique_fd.hpp"

namespace vessel::backends::net {
namespace {

// QEMU's user-mode network, which guests and users know.
constexpr const char* kNetwork = "10.0.2.0";
constexpr const char* kNetmask = "255.255.255.0";
constexpr const char* kHost = "10.0.2.2";
constexpr const char* kDhcpStart = "10.0.2.15";
constexpr const char* kNameserver = "10.0.2.3";
constexpr const char* kGuest = kDhcpStart;  // where forwarded ports go

in_addr ipv4(const char* text) {
  in_addr a{};
  ::inet_pton(AF_INET, text, &a);
  return a;
}

int64_t now_ns() {
  return MonotonicClock().now_ns();
}

short to_poll_events(int slirp) {
  short e = 0;
  if (slirp & SLIRP_POLL_IN) e |= POLLIN;
  if (slirp & SLIRP_POLL_OUT) e |= POLLOUT;
  if (slirp & SLIRP_POLL_PRI) e |= POLLPRI;
  if (slirp & SLIRP_POLL_ERR) e |= POLLERR;
  if (slirp & SLIRP_POLL_HUP) e |= POLLHUP;
  return e;
}

int to_slirp_events(short revents) {
  int e = 0;
  if (revents & POLLIN) e |= SLIRP_POLL_IN;
  if (revents & POLLOUT) e |= SLIRP_POLL_OUT;
  if (revents & POLLPRI) e |= SLIRP_POLL_PRI;
  if (revents & POLLERR) e |= SLIRP_POLL_ERR;
  if (revents & POLLHUP) e |= SLIRP_POLL_HUP;
  return e;
}

struct Timer {
  SlirpTimerCb cb;
  void* opaque;
  int64_t expire_ms = -1;  // -1: not armed
};

}  // namespace

struct SlirpBackend::State {
  Slirp* slirp = nullptr;
  UniqueFd wake;  // eventfd: frames queued, slirp's notify, stop()
  Receiver receiver;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::list<Timer> timers;  // stable addresses: slirp keeps pointers
  std::vector<pollfd> pollfds;

  mutable std::mutex tx_mutex;
  std::deque<std::vector<uint8_t>> tx;  // guest -> slirp
  uint64_t dropped = 0;

  ~State() {
    if (slirp) slirp_cleanup(slirp);
  }

  void wake_up() const {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake.get(), &one, sizeof one);
  }

  // Milliseconds until the next armed timer (or `cap`).
  uint32_t timer_timeout(uint32_t cap) const {
    const int64_t now = now_ns() / 1'000'000;
    int64_t best = cap;
    for (const Timer& t : timers)
      if (t.expire_ms >= 0) best = std::min(best, std::max<int64_t>(0, t.expire_ms - now));
    return static_cast<uint32_t>(best);
  }

  void run_timers() {
    const int64_t now = now_ns() / 1'000'000;
    // A callback may re-arm or free timers (slirp does both), so fire one at a time.
    for (bool fired = true; fired;) {
      fired = false;
      for (Timer& t : timers) {
        if (t.expire_ms < 0 || t.expire_ms > now) continue;
        t.expire_ms = -1;
        t.cb(t.opaque);
        fired = true;
        break;
      }
    }
  }

  void feed_frames() {
    std::deque<std::vector<uint8_t>> frames;
    {
      std::lock_guard lock(tx_mutex);
      frames.swap(tx);
    }
    for (const auto& f : frames) slirp_input(slirp, f.data(), static_cast<int>(f.size()));
  }

  void loop() {
    while (!stopping.load()) {
      pollfds.clear();
      pollfds.push_back({wake.get(), POLLIN, 0});
      uint32_t timeout = UINT32_MAX;
      slirp_pollfds_fill(
          slirp, &timeout,
          [](int fd, int events, void* opaque) {
            auto* s = static_cast<State*>(opaque);
            s->pollfds.push_back({fd, to_poll_events(events), 0});
            return static_cast<int>(s->pollfds.size() - 1);
          },
          this);
      timeout = timer_timeout(timeout);
      const int n = ::poll(pollfds.data(), pollfds.size(),
                           timeout == UINT32_MAX ? -1 : static_cast<int>(timeout));
      if (n < 0 && errno != EINTR) {
        log::error("user network: poll: {}", std::strerror(errno));
        return;
      }
      if (pollfds[0].revents & POLLIN) {
        uint64_t v = 0;
        [[maybe_unused]] auto r = ::read(wake.get(), &v, sizeof v);
      }
      slirp_pollfds_poll(
          slirp, n < 0,
          [](int idx, void* opaque) {
            auto* s = static_cast<State*>(opaque);
            if (idx < 0 || static_cast<size_t>(idx) >= s->pollfds.size()) return 0;
            return to_slirp_events(s->pollfds[static_cast<size_t>(idx)].revents);
          },
          this);
      feed_frames();
      run_timers();
    }
  }
};

namespace {

ssize_t send_packet(const void* buf, size_t len, void* opaque) {
  auto* s = static_cast<SlirpBackend::State*>(opaque);
  if (s->receiver) s->receiver({static_cast<const uint8_t*>(buf), len});
  return static_cast<ssize_t>(len);
}

void guest_error(const char* msg, void*) {
  log::debug("user network: guest error: {}", msg);
}

int64_t clock_get_ns(void*) {
  return now_ns();
}

void* timer_new(SlirpTimerCb cb, void* cb_opaque, void* opaque) {
  auto* s = static_cast<SlirpBackend::State*>(opaque);
  s->timers.push_back(Timer{cb, cb_opaque});
  return &s->timers.back();
}

void timer_free(void* timer, void* opaque) {
  auto* s = static_cast<SlirpBackend::State*>(opaque);
  s->timers.remove_if([timer](const Timer& t) { return &t == timer; });
}

void timer_mod(void* timer, int64_t expire_ms, void*) {
  static_cast<Timer*>(timer)->expire_ms = expire_ms;
}

void register_poll_fd(int, void*) {}
void unregister_poll_fd(int, void*) {}

void notify(void* opaque) {
  static_cast<SlirpBackend::State*>(opaque)->wake_up();
}

const SlirpCb kCallbacks = {
    .send_packet = send_packet,
    .guest_error = guest_error,
    .clock_get_ns = clock_get_ns,
    .timer_new = timer_new,
    .timer_free = timer_free,
    .timer_mod = timer_mod,
    .register_poll_fd = register_poll_fd,
    .unregister_poll_fd = unregister_poll_fd,
    .notify = notify,
};

}  // namespace

SlirpBackend::SlirpBackend(std::unique_ptr<State> state) : state_(std::move(state)) {}

SlirpBackend::~SlirpBackend() {
  stop();
}

Result<std::unique_ptr<SlirpBackend>> SlirpBackend::create(
    const std::vector<config::HostForward>& forwards) {
  auto state = std::make_unique<State>();
  state->wake = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!state->wake.valid()) return fail("user network: eventfd: {}", std::strerror(errno));

  SlirpConfig cfg{};
  cfg.version = 3;
  cfg.in_enabled = true;
  cfg.vnetwork = ipv4(kNetwork);
  cfg.vnetmask = ipv4(kNetmask);
  cfg.vhost = ipv4(kHost);
  cfg.vdhcp_start = ipv4(kDhcpStart);
  cfg.vnameserver = ipv4(kNameserver);
  cfg.vhostname = "vessel";
  state->slirp = slirp_new(&cfg, &kCallbacks, state.get());
  if (!state->slirp) return fail("user network: libslirp refused its configuration");

  for (const config::HostForward& f : forwards) {
    errno = 0;
    // Loopback only: a forwarded port is for this host's user, not the local network.
    if (slirp_add_hostfwd(state->slirp, f.udp, ipv4("127.0.0.1"), f.host_port, ipv4(kGuest),
                          f.guest_port) != 0)
      return fail("user network: cannot forward {} port 127.0.0.1:{} to the guest's {}: {}",
                  f.udp ? "udp" : "tcp", f.host_port, f.guest_port,
                  errno ? std::strerror(errno) : "in use?");
  }
  return std::unique_ptr<SlirpBackend>(new SlirpBackend(std::move(state)));
}

Result<void> SlirpBackend::start(Receiver receiver) {
  if (state_->thread.joinable()) return fail("user network: already started");
  state_->receiver = std::move(receiver);
  state_->thread = std::thread([s = state_.get()] { s->loop(); });
  return {};
}

void SlirpBackend::send(std::span<const uint8_t> frame) {
  {
    std::lock_guard lock(state_->tx_mutex);
    if (state_->tx.size() >= kMaxQueuedFrames) {
      ++state_->dropped;
      return;
    }
    state_->tx.emplace_back(frame.begin(), frame.end());
  }
  state_->wake_up();
}

void SlirpBackend::stop() {
  if (!state_->thread.joinable()) return;
  state_->stopping.store(true);
  state_->wake_up();
  state_->thread.join();
}

uint64_t SlirpBackend::dropped_frames() const {
  std::lock_guard lock(state_->tx_mutex);
  return state_->dropped;
}

}  // namespace vessel::backends::net
