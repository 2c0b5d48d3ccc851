# Image save/load (docker save/load, OCI layout tars) and import (docker import); included from
# CMakeLists.txt. berth_image reads and writes tars through berth_archive for these.
target_sources(berth_image PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/save_load.cc
  ${CMAKE_CURRENT_LIST_DIR}/import.cc)
target_link_libraries(berth_image PUBLIC berth_archive)
berth_test(save_load_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/save_load_test.cc ${CMAKE_CURRENT_LIST_DIR}/import_test.cc
  LIBS berth_image berth_archive PkgConfig::LIBARCHIVE)
# Designated initialisers that leave members at their defaults are the point in these tests.
target_compile_options(save_load_test PRIVATE -Wno-missing-field-initializers)
set_source_files_properties(
  ${CMAKE_CURRENT_LIST_DIR}/save_load.cc ${CMAKE_CURRENT_LIST_DIR}/import.cc
  PROPERTIES COMPILE_OPTIONS -Wno-missing-field-initializers)
