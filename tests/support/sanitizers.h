// Whether this test binary runs under AddressSanitizer. ASan replaces the heap (freed memory
// waits in a quarantine, shadow memory is mapped), so RSS and mallinfo2 figures say nothing
// about the code under test there: memory-size assertions check this and skip only themselves.
#pragma once

namespace authscope::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace authscope::testing
