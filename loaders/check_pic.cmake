# check_pic.cmake -DREADELF=... -DOBJ=... -DSTAGE=object|flm
# A loader must run wherever the host puts it: the object may carry only
# PC-relative relocations (branches and calls), so nothing needs fixing up
# after loading; the linked FLM must have no GOT, no dynamic relocations and
# the three CMSIS sections.
execute_process(COMMAND ${READELF} -W -r -S ${OBJ} OUTPUT_VARIABLE out RESULT_VARIABLE res)
if(NOT res EQUAL 0)
  message(FATAL_ERROR "readelf ${OBJ} failed")
endif()
if(STAGE STREQUAL "object")
  string(REGEX MATCHALL "R_ARM_[A-Z0-9_]+" relocs "${out}")
  list(REMOVE_DUPLICATES relocs)
  set(allowed R_ARM_THM_CALL R_ARM_THM_JUMP24 R_ARM_THM_JUMP19 R_ARM_THM_JUMP11
      R_ARM_THM_JUMP8 R_ARM_THM_JUMP6 R_ARM_THM_PC8 R_ARM_THM_PC12)
  foreach(r ${relocs})
    list(FIND allowed ${r} idx)
    if(idx EQUAL -1)
      message(FATAL_ERROR "${OBJ}: relocation ${r} is not position independent "
                          "(absolute address or GOT entry): the loader would need fixing up")
    endif()
  endforeach()
else()
  foreach(s PrgCode PrgData DevDscr)
    if(NOT out MATCHES " ${s} ")
      message(FATAL_ERROR "${OBJ}: no ${s} section")
    endif()
  endforeach()
  if(out MATCHES "\\.got|\\.rel\\.dyn|\\.dynamic")
    message(FATAL_ERROR "${OBJ}: has a GOT or dynamic relocations")
  endif()
  if(NOT out MATCHES "PrgCode +PROGBITS +00000000 [0-9a-f]+ 0*[1-9a-f][0-9a-f]* ")
    message(FATAL_ERROR "${OBJ}: PrgCode does not start at address 0 or is empty")
  endif()
endif()
