// The web build has no game controllers: SDL is built without joysticks
// (cmake/sdl2_web_options.txt), so SDL_GameControllerOpen never finds one. Dear ImGui's SDL2
// backend still calls these three (only with ImGuiConfigFlags_NavEnableGamepad, which the app
// never sets), and that alone linked SDL's game controller layer, its mapping database and its
// joystick layer into the wasm (8.9 KB of the first load's gzip). Definitions of the program are
// found first, so those are never linked; the answers are the ones SDL gives without joysticks.
#include <SDL.h>

extern "C" {

SDL_GameController* SDL_GameControllerOpen(int joystick_index) {
    (void)joystick_index;
    SDL_SetError("There are no game controllers in this build");
    return nullptr;
}

Uint8 SDL_GameControllerGetButton(SDL_GameController* controller, SDL_GameControllerButton button) {
    (void)controller;
    (void)button;
    return 0;
}

Sint16 SDL_GameControllerGetAxis(SDL_GameController* controller, SDL_GameControllerAxis axis) {
    (void)controller;
    (void)axis;
    return 0;
}

}  // extern "C"
