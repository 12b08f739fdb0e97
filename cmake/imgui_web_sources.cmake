# imgui_draw.cpp for the web build, without ImGui's built-in font (ProggyClean: 11,980 bytes of
# base85 text in the data section, 10.9 KB of the first load's gzip). The web app always draws
# with fonts/ui-latin.ttf: the page does not mount without it (shell/src/loader.js, load_failed)
# and web.cpp refuses to start without it, so the built-in font was only ever a fallback that
# never ran. The native build keeps it (the --font file may be missing).
# The copy is made here, from the fetched 1.90.1 source, into the build folder; nothing of ImGui
# is committed. Two edits, each checked: the font's data becomes an empty string, and
# AddFontDefault() returns null when that data is empty instead of decoding it.
function(polymark_imgui_draw_without_default_font out_var)
  set(src "${IMGUI_DIR}/imgui_draw.cpp")
  set(dst "${CMAKE_BINARY_DIR}/imgui_patched/imgui_draw.cpp")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${src}")
  file(READ "${src}" text)
  set(data_begin "static const char proggy_clean_ttf_compressed_data_base85[11980 + 1] =")
  set(data_end "static const char* GetDefaultCompressedFontDataTTFBase85()\n{")
  string(FIND "${text}" "${data_begin}" b)
  string(FIND "${text}" "${data_end}" e)
  set(add_default "ImFont* ImFontAtlas::AddFontDefault(const ImFontConfig* font_cfg_template)\n{\n")
  string(FIND "${text}" "${add_default}" a)
  if(b EQUAL -1 OR e EQUAL -1 OR e LESS b OR a EQUAL -1)
    message(FATAL_ERROR "${src} is not the ImGui 1.90.1 this build knows: cannot leave its default font out (cmake/imgui_web_sources.cmake)")
  endif()
  string(SUBSTRING "${text}" 0 ${b} head)
  string(SUBSTRING "${text}" ${e} -1 tail)
  set(text "${head}static const char proggy_clean_ttf_compressed_data_base85[1] = \"\"; // left out of the web build (cmake/imgui_web_sources.cmake)\n\n${tail}")
  string(REPLACE "${add_default}" "${add_default}    if (!GetDefaultCompressedFontDataTTFBase85()[0]) return NULL; // no built-in font in the web build\n" text "${text}")
  # The copy's own folder sits beside the sources' includes: it includes "imgui.h" and friends
  # from IMGUI_DIR (target_include_directories of imgui).
  file(WRITE "${dst}.tmp" "${text}")
  file(COPY_FILE "${dst}.tmp" "${dst}" ONLY_IF_DIFFERENT)
  set(${out_var} "${dst}" PARENT_SCOPE)
endfunction()
