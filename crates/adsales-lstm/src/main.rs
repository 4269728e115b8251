//! `adsales-torch`: the adsales command line with the libtorch-backed `lstm` family installed.
//! `adsales` hands commands that need the family over to this binary; it also runs every
//! other command exactly as `adsales` does.

fn main() -> std::process::ExitCode {
    adsales_lstm::keep_freed_memory();
    adsales::cmd::main(Some(&adsales_lstm::TORCH_FAMILY))
}
