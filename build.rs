// The migrations are compiled into the binary (`embed_migrations!` in src/db.rs); without
// this, adding or editing one would not rebuild it, and tests would run the old schema.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
