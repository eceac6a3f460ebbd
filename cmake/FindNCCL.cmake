# Finds NCCL (the CUDA toolkit's CMake config does not provide it): in the toolkit, NCCL_ROOT, or
# PyTorch's nvidia-nccl wheel. Defines NCCL::nccl.
include(StrandWheelDirs)
strand_wheel_dirs(_nccl_wheel nccl)
find_path(NCCL_INCLUDE_DIR nccl.h
          HINTS ${CUDAToolkit_INCLUDE_DIRS} ENV NCCL_ROOT ${_nccl_wheel} PATH_SUFFIXES include)
# The wheel has only the versioned name.
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2
             HINTS ${CUDAToolkit_LIBRARY_DIR} ENV NCCL_ROOT ${_nccl_wheel} PATH_SUFFIXES lib64 lib)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NCCL REQUIRED_VARS NCCL_LIBRARY NCCL_INCLUDE_DIR)
if(NCCL_FOUND AND NOT TARGET NCCL::nccl)
  add_library(NCCL::nccl UNKNOWN IMPORTED)
  set_target_properties(NCCL::nccl PROPERTIES IMPORTED_LOCATION "${NCCL_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${NCCL_INCLUDE_DIR}")
endif()
