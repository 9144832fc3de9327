#pragma once
// Token buckets, per client. Pure: the caller passes the time.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cityguard::util {

using steady_time = std::chrono::steady_clock::time_point;

/// `rate` tokens a second, at most `burst` saved up. Starts full.
class token_bucket {
  public:
    token_bucket(double rate, double burst, steady_time now) : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

    /// Takes one token if there is one.
    bool try_take(steady_time now) noexcept {
        refill(now);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }
    /// True when the bucket has refilled completely (it then says nothing a new one would not).
    bool full(steady_time now) const noexcept {
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        return tokens_ + std::max(0.0, elapsed) * rate_ >= burst_;
    }

  private:
    void refill(steady_time now) noexcept {
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        if (elapsed > 0) {
            tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
            last_ = now;
        }
    }

    double rate_, burst_, tokens_;
    steady_time last_;
};

/// One token bucket per key (a client address). Holds at most `max_keys` buckets: when full,
/// buckets that refilled are forgotten first; if none has, all are (memory stays bounded, at
/// the price of a fresh burst for everyone).
///
/// Not thread-safe: callers lock.
class keyed_rate_limiter {
  public:
    keyed_rate_limiter(double rate, double burst, std::size_t max_keys)
        : rate_(rate), burst_(burst), max_keys_(max_keys) {}

    bool try_take(std::string_view key, steady_time now) {
        auto it = buckets_.find(std::string(key));
        if (it == buckets_.end()) {
            if (buckets_.size() >= max_keys_) {
                std::erase_if(buckets_, [now](auto& entry) { return entry.second.full(now); });
                if (buckets_.size() >= max_keys_) buckets_.clear();
            }
            it = buckets_.emplace(std::string(key), token_bucket(rate_, burst_, now)).first;
        }
        return it->second.try_take(now);
    }
    std::size_t size() const noexcept { return buckets_.size(); }

  private:
    double rate_, burst_;
    std::size_t max_keys_;
    std::unordered_map<std::string, token_bucket> buckets_;
};

}  // namespace cityguard::util
