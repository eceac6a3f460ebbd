# Third-party dependencies, gathered into one interface target the bottom layer links.
find_package(PkgConfig REQUIRED)
# OpenBLAS built with OpenMP, so BLAS calls and strand's own OpenMP loops share one thread pool:
# the pthread build's spinning threads and OpenMP's fight over the cores (20-80x slowdowns seen).
find_library(OPENBLAS_LIBRARY openblas REQUIRED
             HINTS /usr/lib/x86_64-linux-gnu/openblas-openmp PATH_SUFFIXES openblas-openmp)
find_path(CBLAS_INCLUDE_DIR cblas.h REQUIRED
          HINTS /usr/include/x86_64-linux-gnu/openblas-openmp
          PATH_SUFFIXES openblas-openmp x86_64-linux-gnu/openblas-openmp)
message(STATUS "strand: BLAS ${OPENBLAS_LIBRARY}")
# oneDNN (Debian's libdnnl-dev, OpenMP build): fp32/bf16 GEMM and convolution on the CPU with
# run-time ISA dispatch up to AVX-512 and AMX (kernels/common/onednn.h). Its headers are in /usr/include.
find_library(DNNL_LIBRARY dnnl REQUIRED)
message(STATUS "strand: oneDNN ${DNNL_LIBRARY}")
pkg_check_modules(HTSLIB REQUIRED IMPORTED_TARGET htslib)
# PLplot draws the report's plots (its SVG driver; report/plots.cpp).
pkg_check_modules(PLPLOT REQUIRED IMPORTED_TARGET plplot)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
# XGBoost's CMake config insists on the xgboost CLI binary; the C API is all strand needs.
find_library(XGBOOST_LIBRARY xgboost REQUIRED)
find_path(XGBOOST_INCLUDE_DIR xgboost/c_api.h REQUIRED)
find_library(LIBLINEAR_LIBRARY linear REQUIRED)
find_path(LIBLINEAR_INCLUDE_DIR linear.h REQUIRED)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)

set(STRAND_WITH_MPI OFF)
if(NOT STRAND_MPI STREQUAL "OFF")
  find_package(MPI COMPONENTS C)
  if(MPI_C_FOUND)
    set(STRAND_WITH_MPI ON)
  elseif(STRAND_MPI STREQUAL "ON")
    message(FATAL_ERROR "STRAND_MPI=ON but MPI was not found")
  endif()
endif()
message(STATUS "strand: MPI ${STRAND_WITH_MPI}")

add_library(strand_third_party INTERFACE)
target_include_directories(strand_third_party INTERFACE ${CBLAS_INCLUDE_DIR} ${LIBLINEAR_INCLUDE_DIR}
                           ${XGBOOST_INCLUDE_DIR})
target_link_libraries(strand_third_party INTERFACE
  ${OPENBLAS_LIBRARY} ${DNNL_LIBRARY} OpenMP::OpenMP_CXX PkgConfig::HTSLIB yaml-cpp nlohmann_json::nlohmann_json
  CLI11::CLI11 ${XGBOOST_LIBRARY} ${LIBLINEAR_LIBRARY} Threads::Threads ZLIB::ZLIB)
# The commit is compiled into one file only (from a header rewritten at build time when the commit
# changes: cmake/WriteCommit.cmake), so a new commit does not rebuild everything.
set_source_files_properties(${CMAKE_SOURCE_DIR}/core/version.cpp PROPERTIES
  COMPILE_DEFINITIONS "STRAND_VERSION=\"${PROJECT_VERSION}\""
  OBJECT_DEPENDS ${CMAKE_BINARY_DIR}/generated/strand_commit.h)
add_custom_target(strand_commit
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR} -DOUT=${CMAKE_BINARY_DIR}/generated/strand_commit.h
          -P ${CMAKE_SOURCE_DIR}/cmake/WriteCommit.cmake
  BYPRODUCTS ${CMAKE_BINARY_DIR}/generated/strand_commit.h
  COMMENT "strand: recording the git commit")
# Error locations are printed relative to the project's top folder.
set_source_files_properties(${CMAKE_SOURCE_DIR}/core/error.cpp PROPERTIES
  COMPILE_DEFINITIONS "STRAND_SOURCE_DIR=\"${CMAKE_SOURCE_DIR}\"")

if(STRAND_WITH_MPI)
  target_link_libraries(strand_third_party INTERFACE MPI::MPI_C)
  target_compile_definitions(strand_third_party INTERFACE STRAND_WITH_MPI=1)
else()
  target_compile_definitions(strand_third_party INTERFACE STRAND_WITH_MPI=0)
endif()

if(STRAND_WITH_CUDA)
  find_package(CUDAToolkit REQUIRED)
  find_package(CUDNN REQUIRED)
  find_package(NCCL REQUIRED)
  target_link_libraries(strand_third_party INTERFACE
    CUDA::cudart CUDA::cublas CUDA::cublasLt CUDNN::cudnn NCCL::nccl)
  target_compile_definitions(strand_third_party INTERFACE STRAND_WITH_CUDA=1)
else()
  target_compile_definitions(strand_third_party INTERFACE STRAND_WITH_CUDA=0)
endif()

if(STRAND_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(STRAND_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
