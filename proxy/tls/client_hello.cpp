#include "proxy/tls/client_hello.h"

#include <cstdint>

namespace authscope {
namespace {

// RFC 8446 §5.1: "enum { ... handshake(22) ... } ContentType;" and a record header of
// type(1) legacy_record_version(2) length(2); fragments are at most 2^14 bytes (+ slack that
// some stacks use, so we allow up to 2^14 + 2048 as in TLSCiphertext).
constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kHandshakeClientHello = 1;
constexpr size_t kRecordHeader = 5;
constexpr size_t kMaxFragment = (1u << 14) + 2048;
// RFC 6066 §3 server_name extension type 0; RFC 7301 ALPN extension type 16.
constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtAlpn = 16;
constexpr uint8_t kNameTypeHostName = 0;

// A bounds-checked reader over a byte span; every read fails (and stays failed) past the end.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool ok() const { return ok_; }
  size_t left() const { return ok_ ? n_ - off_ : 0; }
  uint32_t u8() { return take(1) ? p_[off_ - 1] : 0; }
  uint32_t u16() { return take(2) ? (uint32_t(p_[off_ - 2]) << 8) | p_[off_ - 1] : 0; }
  uint32_t u24() {
    return take(3) ? (uint32_t(p_[off_ - 3]) << 16) | (uint32_t(p_[off_ - 2]) << 8) | p_[off_ - 1] : 0;
  }
  // A sub-reader over the next `len` bytes (consumed here).
  Reader sub(size_t len) {
    if (!take(len)) return Reader(nullptr, 0, false);
    return Reader(p_ + off_ - len, len);
  }
  void skip(size_t len) { take(len); }
  std::string str(size_t len) {
    if (!take(len)) return {};
    return std::string(reinterpret_cast<const char*>(p_ + off_ - len), len);
  }

 private:
  Reader(const uint8_t* p, size_t n, bool ok) : p_(p), n_(n), ok_(ok) {}
  bool take(size_t len) {
    if (!ok_ || n_ - off_ < len) {
      ok_ = false;
      return false;
    }
    off_ += len;
    return true;
  }
  const uint8_t* p_;
  size_t n_;
  size_t off_ = 0;
  bool ok_ = true;
};

bool parse_server_name(Reader ext, std::string* sni) {
  // struct { NameType name_type; select (name_type) { case host_name: HostName; } name; }
  // ServerName; struct { ServerName server_name_list<1..2^16-1> } ServerNameList;
  Reader list = ext.sub(ext.u16());
  while (list.ok() && list.left() > 0) {
    uint32_t type = list.u8();
    uint32_t len = list.u16();
    std::string name = list.str(len);
    if (!list.ok()) return false;
    // "The ServerNameList MUST NOT contain more than one name of the same name_type."
    if (type == kNameTypeHostName && sni->empty()) *sni = std::move(name);
  }
  return list.ok();
}

bool parse_alpn(Reader ext, std::vector<std::string>* alpn) {
  // opaque ProtocolName<1..2^8-1>; struct { ProtocolName protocol_name_list<2..2^16-1> }
  Reader list = ext.sub(ext.u16());
  while (list.ok() && list.left() > 0) {
    uint32_t len = list.u8();
    if (len == 0) return false;
    alpn->push_back(list.str(len));
  }
  return list.ok();
}

ClientHelloPeek parse_hello_body(Reader body, ClientHelloInfo* info) {
  // struct { ProtocolVersion legacy_version; Random random; opaque legacy_session_id<0..32>;
  //   CipherSuite cipher_suites<2..2^16-2>; opaque legacy_compression_methods<1..2^8-1>;
  //   Extension extensions<8..2^16-1>; } ClientHello;   (RFC 8446 §4.1.2)
  body.skip(2 + 32);
  uint32_t sid = body.u8();
  if (sid > 32) return ClientHelloPeek::kMalformed;
  body.skip(sid);
  body.skip(body.u16());
  body.skip(body.u8());
  if (!body.ok()) return ClientHelloPeek::kMalformed;
  ClientHelloInfo out;
  if (body.left() > 0) {  // extensions may be absent in pre-TLS 1.2 hellos
    Reader exts = body.sub(body.u16());
    while (exts.ok() && exts.left() > 0) {
      uint32_t type = exts.u16();
      Reader ext = exts.sub(exts.u16());
      if (!exts.ok()) break;
      if (type == kExtServerName && !parse_server_name(ext, &out.sni)) return ClientHelloPeek::kMalformed;
      if (type == kExtAlpn && !parse_alpn(ext, &out.alpn)) return ClientHelloPeek::kMalformed;
    }
    if (!exts.ok()) return ClientHelloPeek::kMalformed;
  }
  *info = std::move(out);
  return ClientHelloPeek::kOk;
}

}  // namespace

ClientHelloPeek peek_client_hello(const char* data, size_t len, ClientHelloInfo* info) {
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  if (len == 0) return ClientHelloPeek::kNeedMore;
  if (p[0] != kContentHandshake) return ClientHelloPeek::kNotTls;
  // Gather handshake fragments from consecutive records until the ClientHello is complete.
  std::string message;
  size_t off = 0;
  while (true) {
    if (len - off < kRecordHeader) return ClientHelloPeek::kNeedMore;
    if (p[off] != kContentHandshake) return ClientHelloPeek::kMalformed;
    if (p[off + 1] != 3) return off == 0 ? ClientHelloPeek::kNotTls : ClientHelloPeek::kMalformed;
    size_t frag = (size_t(p[off + 3]) << 8) | p[off + 4];
    if (frag == 0 || frag > kMaxFragment) return ClientHelloPeek::kMalformed;
    if (len - off - kRecordHeader < frag) return ClientHelloPeek::kNeedMore;
    message.append(data + off + kRecordHeader, frag);
    off += kRecordHeader + frag;
    if (message.size() >= 4) {
      if (static_cast<uint8_t>(message[0]) != kHandshakeClientHello) return ClientHelloPeek::kMalformed;
      size_t body_len = (size_t(uint8_t(message[1])) << 16) | (size_t(uint8_t(message[2])) << 8) |
                        uint8_t(message[3]);
      if (body_len > kMaxClientHelloBytes) return ClientHelloPeek::kMalformed;
      if (message.size() >= 4 + body_len) {
        Reader body(reinterpret_cast<const uint8_t*>(message.data()) + 4, body_len);
        return parse_hello_body(body, info);
      }
    }
    if (message.size() > kMaxClientHelloBytes) return ClientHelloPeek::kMalformed;
  }
}

}  // namespace authscope
