//! `adsales`: the command line without libtorch (see `adsales::cmd` for how a command that
//! needs the `lstm` family is handed over to `adsales-torch`).

fn main() -> std::process::ExitCode {
    adsales::cmd::main(None)
}
