# FindDuckDB: the official prebuilt libduckdb (C API) installed from npm into
# ${CMAKE_SOURCE_DIR}/node_modules by the setup script:
#   duckdb                              -> src/duckdb/src/include/duckdb.h
#   @duckdb/node-bindings-linux-x64     -> libduckdb.so
# DUCKDB_ROOT (cache or environment) may point at a directory holding both instead.
#
# Defines the IMPORTED target DuckDB::DuckDB (include dir marked SYSTEM so -Werror does not
# apply to the header) and DuckDB_FOUND, DuckDB_INCLUDE_DIR, DuckDB_LIBRARY, DuckDB_LIBRARY_DIR.
# The library's directory is appended to CMAKE_BUILD_RPATH and CMAKE_INSTALL_RPATH, which
# initialise BUILD_RPATH / INSTALL_RPATH of every target created after find_package(DuckDB),
# so binaries run from the build tree (and installed ones find it) without LD_LIBRARY_PATH.

set(_duckdb_node_modules "${CMAKE_SOURCE_DIR}/node_modules")

find_path(DuckDB_INCLUDE_DIR
  NAMES duckdb.h
  HINTS ${DUCKDB_ROOT} $ENV{DUCKDB_ROOT}
  PATHS "${_duckdb_node_modules}/duckdb/src/duckdb/src/include"
  PATH_SUFFIXES include
  NO_DEFAULT_PATH)

find_library(DuckDB_LIBRARY
  NAMES duckdb
  HINTS ${DUCKDB_ROOT} $ENV{DUCKDB_ROOT}
  PATHS "${_duckdb_node_modules}/@duckdb/node-bindings-linux-x64"
  PATH_SUFFIXES lib
  NO_DEFAULT_PATH)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(DuckDB
  REQUIRED_VARS DuckDB_LIBRARY DuckDB_INCLUDE_DIR
  REASON_FAILURE_MESSAGE
    "run: npm install --no-save --ignore-scripts duckdb@1.4.4 @duckdb/node-bindings-linux-x64@1.4.4-r.4 in ${CMAKE_SOURCE_DIR}")

if(DuckDB_FOUND)
  get_filename_component(DuckDB_LIBRARY_DIR "${DuckDB_LIBRARY}" DIRECTORY)
  if(NOT TARGET DuckDB::DuckDB)
    add_library(DuckDB::DuckDB SHARED IMPORTED)
    set_target_properties(DuckDB::DuckDB PROPERTIES
      IMPORTED_LOCATION "${DuckDB_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${DuckDB_INCLUDE_DIR}"
      INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${DuckDB_INCLUDE_DIR}")
  endif()
  list(APPEND CMAKE_BUILD_RPATH "${DuckDB_LIBRARY_DIR}")
  list(APPEND CMAKE_INSTALL_RPATH "${DuckDB_LIBRARY_DIR}")
endif()

mark_as_advanced(DuckDB_INCLUDE_DIR DuckDB_LIBRARY)
