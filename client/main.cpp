// Polymark's entry point: the platform layer (web or native, chosen by CMake) makes the window,
// the app and the loop.
namespace pm {
int run_platform(int argc, char** argv);
}

int main(int argc, char** argv) { return pm::run_platform(argc, argv); }
