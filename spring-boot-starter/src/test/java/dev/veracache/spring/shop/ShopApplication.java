package dev.veracache.spring.shop;

import javax.sql.DataSource;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.context.annotation.Bean;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/** The smallest Spring Boot service using the starter: caching on, a DataSource, one service. */
@SpringBootApplication
@EnableCaching
public class ShopApplication {

  @Bean
  DataSource dataSource(@Value("${shop.jdbc-url}") String url, @Value("${shop.user}") String user,
      @Value("${shop.password:}") String password) {
    return new DriverManagerDataSource(url, user, password);
  }

  @Bean
  ProductService productService(DataSource dataSource, @Value("${shop.table}") String table) {
    return new ProductService(new JdbcTemplate(dataSource), table);
  }
}
