// ResponseReader: the load generator's HTTP/1.1 response framing (status line, Content-Length or
// chunked, Connection: close). Header-only so the unit test (tests/unit/test_loadgen_reader.cpp)
// checks exactly what loadgen runs. Bodies are counted and dropped; every buffer is bounded.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace authscope::bench {

constexpr size_t kMaxHeaderBytes = 16 * 1024;    // a response head larger than this is an error
constexpr size_t kMaxBodyBytes = 8 * 1024 * 1024;  // bodies are read and dropped, but bounded


inline bool ieq_prefix(const char* s, size_t n, const char* lit) {
  size_t m = std::strlen(lit);
  if (n < m) return false;
  for (size_t i = 0; i < m; ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != lit[i]) return false;
  }
  return true;
}

struct ResponseReader {
  enum class Phase { Head, Body, ChunkSize, ChunkData, ChunkCrlf, Trailer, Done, Bad };
  Phase phase = Phase::Head;
  std::string head;
  int status = 0;
  bool close = false;
  bool chunked = false;
  uint64_t remaining = 0;
  std::string line;

  void reset() {
    phase = Phase::Head;
    head.clear();
    status = 0;
    close = false;
    chunked = false;
    remaining = 0;
    line.clear();
  }

  bool parse_head() {
    // RFC 9112 section 4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) return false;
    status = std::atoi(head.c_str() + 9);
    bool have_length = false;
    size_t pos = head.find("\r\n") + 2;
    while (pos < head.size()) {
      size_t eol = head.find("\r\n", pos);
      if (eol == std::string::npos || eol == pos) break;
      const char* l = head.data() + pos;
      size_t n = eol - pos;
      if (ieq_prefix(l, n, "content-length:")) {
        remaining = std::strtoull(l + 15, nullptr, 10);
        have_length = true;
      } else if (ieq_prefix(l, n, "transfer-encoding:")) {
        chunked = std::string(l, n).find("chunked") != std::string::npos;
      } else if (ieq_prefix(l, n, "connection:")) {
        std::string v(l + 11, n - 11);
        for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        close = v.find("close") != std::string::npos;
      }
      pos = eol + 2;
    }
    if (remaining > kMaxBodyBytes) return false;
    if (chunked) {
      phase = Phase::ChunkSize;
    } else if (have_length) {
      phase = remaining == 0 ? Phase::Done : Phase::Body;
    } else {
      return false;  // read-until-close bodies are not part of the mix
    }
    return true;
  }

  // Consumes response bytes (the client never pipelines, so nothing follows a complete response).
  void feed(const char* p, size_t n) {
    size_t i = 0;
    while (i < n && phase != Phase::Done && phase != Phase::Bad) {
      switch (phase) {
        case Phase::Head: {
          head.push_back(p[i++]);
          if (head.size() > kMaxHeaderBytes) {
            phase = Phase::Bad;
          } else if (head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0) {
            if (!parse_head()) phase = Phase::Bad;
          }
          break;
        }
        case Phase::Body: {
          size_t take = static_cast<size_t>(std::min<uint64_t>(remaining, n - i));
          remaining -= take;
          i += take;
          if (remaining == 0) phase = Phase::Done;
          break;
        }
        case Phase::ChunkSize:
        case Phase::Trailer: {
          char c = p[i++];
          line.push_back(c);
          if (line.size() > 1024) { phase = Phase::Bad; break; }
          if (line.size() >= 2 && line.compare(line.size() - 2, 2, "\r\n") == 0) {
            if (phase == Phase::Trailer) {
              if (line == "\r\n") phase = Phase::Done;
              line.clear();
              break;
            }
            char* end = nullptr;
            remaining = std::strtoull(line.c_str(), &end, 16);
            line.clear();
            if (end == line.c_str() || remaining > kMaxBodyBytes) { phase = Phase::Bad; break; }
            phase = remaining == 0 ? Phase::Trailer : Phase::ChunkData;
          }
          break;
        }
        case Phase::ChunkData: {
          size_t take = static_cast<size_t>(std::min<uint64_t>(remaining, n - i));
          remaining -= take;
          i += take;
          if (remaining == 0) phase = Phase::ChunkCrlf;
          break;
        }
        case Phase::ChunkCrlf: {
          line.push_back(p[i++]);
          if (line.size() == 2) {
            if (line != "\r\n") { phase = Phase::Bad; break; }
            line.clear();
            phase = Phase::ChunkSize;
          }
          break;
        }
        default:
          break;
      }
    }
  }
};

}  // namespace authscope::bench
