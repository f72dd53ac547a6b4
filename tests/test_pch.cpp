// Empty on purpose: the translation unit that builds the precompiled header every Catch2 test
// executable reuses (authscope_test_pch in tests/CMakeLists.txt, cmake/pch.cmake).
