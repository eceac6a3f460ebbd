# strand_wheel_dirs(<out> <package>): the folders of PyTorch's NVIDIA wheels for <package>
# (site-packages/nvidia/<package>, holding include/ and lib/ with versioned names only, e.g.
# libcudnn.so.9), as python3 sees them; empty when python3 has no `nvidia` package. Lets a machine
# whose cuDNN and NCCL come only from those wheels (the lent GPU machines) configure strand.
function(strand_wheel_dirs out package)
  execute_process(
    COMMAND python3 -c "import nvidia, os; print(';'.join(os.path.join(p, '${package}') for p in nvidia.__path__))"
    OUTPUT_VARIABLE dirs OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    set(dirs "")
  endif()
  set(${out} "${dirs}" PARENT_SCOPE)
endfunction()
