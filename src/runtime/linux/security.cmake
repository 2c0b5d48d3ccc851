# berth_runtime_security: seccomp (libseccomp) and capabilities (libcap) for the container init.
# Included from src/runtime/CMakeLists.txt; paths are relative to this file.
set(_berth_sec_dir ${CMAKE_CURRENT_LIST_DIR})

add_library(berth_runtime_security
  ${_berth_sec_dir}/seccomp.cc
  ${_berth_sec_dir}/sha256.cc
  ${_berth_sec_dir}/capabilities.cc)
target_link_libraries(berth_runtime_security PUBLIC berth_sys berth_oci)
berth_link_per_exe(berth_runtime_security PRIVATE PkgConfig::SECCOMP "${BERTH_seccomp_ARCHIVE}")
berth_link_per_exe(berth_runtime_security PRIVATE PkgConfig::LIBCAP "${BERTH_cap_ARCHIVE}")

# FIPS 180-4 vectors, and the SHA-extensions block function against the portable one.
berth_test(runtime_sha256_test
  SOURCES ${_berth_sec_dir}/sha256_test.cc
  LIBS berth_runtime_security)

# Both load filters / change capabilities in forked children and need root.
berth_test(runtime_seccomp_test
  SOURCES ${_berth_sec_dir}/seccomp_test.cc
  LIBS berth_runtime_security
  LABELS privileged)
berth_test(runtime_capabilities_test
  SOURCES ${_berth_sec_dir}/capabilities_test.cc
  LIBS berth_runtime_security
  LABELS privileged)
