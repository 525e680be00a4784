package dev.veracache.spring.autoconfigure;

import org.springframework.boot.autoconfigure.AutoConfiguration;

/** Placeholder: filled in by the starter's work (issue 13). */
@AutoConfiguration
public class VeracacheHealthAutoConfiguration {}
