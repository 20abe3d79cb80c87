//! rdsaudit
